"""Keep-alive policies: fixed, and the hybrid histogram of "Serverless in the Wild"."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yun.autoscaler import (
    FixedKeepAlive,
    HistogramSettings,
    HybridKeepAlive,
    IdlePlan,
    KeepAlive,
    Policy,
    keep_alive_for,
)
from yun.core import FakeClock, InvalidRequest

MINUTE = 60.0


def invoke_every(policy: KeepAlive, clock: FakeClock, gaps: list[float],
                 duration: float = 1.0) -> list[tuple[IdlePlan, float]]:
    """Run one invocation, then one after each gap; each plan with the next arrival's time."""
    plans: list[tuple[IdlePlan, float]] = []
    policy.on_invocation(clock.now())
    clock.advance(duration)
    for gap in gaps:
        plan = policy.on_idle_start(clock.now())
        clock.advance(gap)
        plans.append((plan, clock.now()))
        policy.on_invocation(clock.now())
        clock.advance(duration)
    return plans


def test_fixed_keeps_an_idle_instance_for_keep_alive_then_unloads() -> None:
    plan = FixedKeepAlive(600).on_idle_start(1000.0)
    assert plan.keeps(1000.0) and plan.keeps(1599.9)
    assert not plan.keeps(1600.0)
    assert plan.prewarm_at is None


def test_the_policy_named_by_the_function_is_made_with_its_keep_alive() -> None:
    assert isinstance(keep_alive_for(Policy(keep_alive=60)), FixedKeepAlive)
    hybrid = keep_alive_for(Policy(keep_alive=60, keep_alive_policy="hybrid"))
    assert isinstance(hybrid, HybridKeepAlive) and hybrid.fallback == 60


def test_hybrid_falls_back_to_fixed_with_too_little_history() -> None:
    clock = FakeClock()
    hybrid = HybridKeepAlive(fallback=600)
    plans = invoke_every(hybrid, clock, [30 * MINUTE] * 4)
    for plan, _ in plans:
        assert plan.reason == "fixed: learning"
        assert plan.unload_at == plan.since + 600 and plan.prewarm_at is None


def test_hybrid_learns_a_periodic_function_and_prewarms_before_each_call() -> None:
    clock = FakeClock()
    hybrid = HybridKeepAlive(fallback=600)
    plans = invoke_every(hybrid, clock, [30 * MINUTE - 1] * 12)  # a 30-minute timer
    learned = [(plan, arrival) for plan, arrival in plans if plan.prewarm_at is not None]
    assert len(learned) >= 7
    for plan, arrival in learned:
        assert plan.reason == "histogram: pre-warm"
        assert plan.unload_at == plan.since  # nothing kept while nothing is expected
        assert plan.prewarm_at is not None and plan.prewarm_at < arrival
        assert plan.keeps(arrival)
        assert not plan.keeps(plan.since + 10 * MINUTE)
        assert arrival - plan.prewarm_at <= 0.1 * 30 * MINUTE + MINUTE  # head less 10 %


def test_hybrid_keeps_a_frequent_function_warm_until_its_tail_with_no_prewarm() -> None:
    clock = FakeClock()
    hybrid = HybridKeepAlive(fallback=600)
    rng = random.Random(1)
    plans = invoke_every(hybrid, clock, [rng.uniform(5, 110) for _ in range(40)])
    plan, _ = plans[-1]
    assert plan.reason == "histogram: keep"
    assert plan.prewarm_at is None
    assert plan.unload_at - plan.since == pytest.approx(2 * MINUTE * 1.1)  # 99th pct bin + 10 %


def test_hybrid_falls_back_when_idle_times_are_spread_evenly() -> None:
    clock = FakeClock()
    hybrid = HybridKeepAlive(fallback=600)
    spread = [(i * 7 % 240) * MINUTE + 30 for i in range(240)]  # every bin once
    plans = invoke_every(hybrid, clock, spread)
    assert hybrid.cv < 2
    assert plans[-1][0].reason == "fixed: histogram too flat"


def test_hybrid_does_not_trust_a_few_scattered_idle_times() -> None:
    clock = FakeClock()
    hybrid = HybridKeepAlive(fallback=600)
    rng = random.Random(7)
    plans = invoke_every(hybrid, clock, [rng.uniform(0, 4 * 3600) for _ in range(30)])
    assert hybrid.cv >= 2  # the paper's test alone would trust these 30 points ...
    assert plans[-1][0].reason == "fixed: histogram too flat"  # ... sampling noise explains it


def test_hybrid_forecasts_a_daily_function_beyond_the_histogram() -> None:
    clock = FakeClock()
    hybrid = HybridKeepAlive(fallback=600)
    day = 24 * 3600.0
    plans = invoke_every(hybrid, clock, [day - 1] * 6)
    assert hybrid.out_of_bounds == 6
    assert plans[1][0].reason == "fixed: learning (out of bounds)"  # one idle time seen
    for plan, arrival in plans[2:]:
        assert plan.reason == "forecast: pre-warm"
        assert plan.prewarm_at == pytest.approx(plan.since + 0.85 * (day - 1))
        assert plan.keeps(arrival) and not plan.keeps(plan.since + day / 2)


def test_hybrid_does_not_forecast_irregular_long_gaps() -> None:
    clock = FakeClock()
    hybrid = HybridKeepAlive(fallback=600)
    plans = invoke_every(hybrid, clock, [5 * 3600, 30 * 3600, 9 * 3600, 70 * 3600, 14 * 3600])
    assert plans[-1][0].reason == "fixed: idle times irregular"


def test_an_invocation_while_busy_records_no_idle_time() -> None:
    hybrid = HybridKeepAlive(fallback=600)
    hybrid.on_invocation(0.0)
    hybrid.on_invocation(5.0)
    assert hybrid.samples == 0
    hybrid.on_idle_start(6.0)
    hybrid.on_invocation(66.0)
    hybrid.on_invocation(67.0)
    assert hybrid.samples == 1


@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=300),
       st.sampled_from([0.0, 0.05, 0.5, 0.99, 1.0]))
def test_percentiles_match_a_sort_of_the_in_bound_idle_times(minutes: list[int],
                                                            fraction: float) -> None:
    hybrid = HybridKeepAlive(fallback=600)
    for m in minutes:
        hybrid.observe(m * MINUTE + 1)
    inside = sorted(m for m in minutes if m < 240)
    if not inside:
        return
    rank = max(1, -(-fraction * len(inside) // 1))
    assert hybrid._percentile_bin(fraction) == inside[int(rank) - 1]


def test_histogram_settings_are_validated() -> None:
    with pytest.raises(InvalidRequest, match=r"head 0\.5, tail 0\.1"):
        HistogramSettings(head=0.5, tail=0.1)
    with pytest.raises(InvalidRequest, match="bin_width"):
        HistogramSettings(bin_width=0)
