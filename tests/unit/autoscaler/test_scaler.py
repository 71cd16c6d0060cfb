"""The Scaler: the KPA for load composed with a keep-alive policy for idleness."""

from __future__ import annotations

from collections.abc import Callable

from yun.autoscaler import Policy, ScaleDecision, Scaler
from yun.core import FakeClock


def run(scaler: Scaler, clock: FakeClock, seconds: int, load: Callable[[float], float],
        ready: int = 0) -> list[ScaleDecision]:
    """Tick once a second, recording the load each tick (as well as on change)."""
    curve = []
    for _ in range(seconds):
        now = clock.now()
        scaler.record(now, load(now))
        decision = scaler.desired(now, ready)
        curve.append(decision)
        ready = decision.desired
        clock.advance(1)
    return curve


def test_the_fixed_keep_alive_outlasts_the_kpa_then_lets_go() -> None:
    clock = FakeClock()
    scaler = Scaler(Policy(keep_alive=600))
    curve = run(scaler, clock, 900, lambda t: 1.0 if t < 1 else 0.0)
    assert curve[100].by_load == 0  # the KPA let go after its window and grace ...
    assert curve[100].desired == 1  # ... the keep-alive has not
    assert curve[100].reason == "keep-alive (fixed 600 s)"
    assert curve[600].desired == 1
    assert all(d.desired == 0 for d in curve[601:])


def test_a_pause_in_a_burst_keeps_the_bursts_instances() -> None:
    clock = FakeClock()
    scaler = Scaler(Policy(max=100, keep_alive=0))
    run(scaler, clock, 60, lambda t: 20.0)
    pause = run(scaler, clock, 5, lambda t: 0.0, ready=29)
    assert not scaler.busy and scaler.plan is not None and not scaler.plan.keeps(clock.now())
    assert all(d.desired >= 15 for d in pause)  # the KPA's stable window still holds them


def test_hybrid_prewarms_a_periodic_function_and_unloads_it_between_calls() -> None:
    clock = FakeClock()
    scaler = Scaler(Policy(keep_alive=600, keep_alive_policy="hybrid"))
    period = 1800

    def timer(t: float) -> float:
        return 1.0 if t % period < 1 else 0.0

    curve = run(scaler, clock, 12 * period, timer)
    last = curve[11 * period:]
    assert last[0].desired >= 1  # the call itself
    assert all(d.desired == 0 for d in last[200:1500])  # unloaded: nothing expected yet
    warm = [t for t, d in enumerate(last) if d.desired and t > 200]
    assert warm and warm[0] < period  # pre-warmed before the next call ...
    assert last[warm[0]].reason == "pre-warm (histogram: pre-warm)"
    assert all(d.desired == 1 for d in last[warm[0]:])  # ... and kept until it comes


def test_a_short_histogram_range_sends_long_idle_times_out_of_bounds() -> None:
    # Calls every 30 min: inside a 4 h histogram they are its pattern; beyond a 20 min range
    # every idle time is out of bounds, so the plan comes from the forecast instead.
    period = 1800

    def timer(t: float) -> float:
        return 1.0 if t % period < 1 else 0.0

    plans = {}
    for name, histogram_range in (("4 h", None), ("20 min", 1200.0)):
        clock = FakeClock()
        scaler = Scaler(Policy(keep_alive=600, keep_alive_policy="hybrid",
                               histogram_range=histogram_range))
        run(scaler, clock, 12 * period, timer)
        assert scaler.plan is not None
        plans[name] = scaler.plan
    assert plans["4 h"].reason == "histogram: pre-warm"
    assert plans["20 min"].reason == "forecast: pre-warm"


def test_cold_policy_decisions_are_the_autoscalers_when_busy() -> None:
    clock = FakeClock()
    scaler = Scaler(Policy(max=100))
    curve = run(scaler, clock, 120, lambda t: 7.0)
    assert curve[-1].desired == curve[-1].by_load == 10
    assert scaler.busy and scaler.plan is None


def test_min_instances_are_kept_whatever_the_plan() -> None:
    clock = FakeClock()
    scaler = Scaler(Policy(min=2, keep_alive=0))
    curve = run(scaler, clock, 300, lambda t: 1.0 if t < 1 else 0.0)
    assert all(d.desired >= 2 for d in curve)


def test_a_first_request_is_never_left_without_an_instance() -> None:
    scaler = Scaler(Policy())
    scaler.record(0.0, 0.0)
    scaler.record(100.0, 3.0)  # a burst after idleness
    decision = scaler.desired(100.0, 0)
    assert decision.by_load == 0  # the windows have seen none of it yet
    assert decision.desired == 3 and decision.reason == "in flight"
