"""The KPA autoscaler replaying load shapes on a fake clock, one decision per 1-second tick.

Instances are taken to be ready one tick after they are wanted, so `ready` is always the
previous decision; the tests assert the instance curve that results.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest

from yun.autoscaler import Autoscaler, Policy, ScaleDecision
from yun.core import FakeClock, InvalidRequest

Load = Callable[[float], float]


def replay(load: Load, seconds: int, policy: Policy | None = None) -> list[ScaleDecision]:
    clock = FakeClock()
    autoscaler = Autoscaler(policy or Policy(max=1000))
    ready, curve = 0, []
    for _ in range(seconds):
        now = clock.now()
        autoscaler.record(now, load(now))
        decision = autoscaler.desired(now, ready)
        curve.append(decision)
        ready = decision.desired
        clock.advance(1)
    return curve


def step(t: float) -> float:
    return 10.0 if 10 <= t < 130 else 0.0


def ramp(t: float) -> float:
    return 10 + min(max(t - 120, 0), 300) / 15  # 10 in flight, then +20 over five minutes


def spike(t: float) -> float:
    return 40.0 if 100 <= t < 110 else 2.0


def sawtooth(t: float) -> float:
    return (t % 30) / 3  # 0 -> 10 every 30 s, then straight back to 0


def diurnal(t: float) -> float:
    return 10 + 8 * math.sin(2 * math.pi * t / 3600)  # a day squeezed into an hour


def wanted(load: float, policy: Policy) -> int:
    return math.ceil(load / policy.instance_target - 1e-9)


def test_steady_load_wants_load_over_target_times_utilisation() -> None:
    curve = replay(lambda t: 7.0, 120)
    assert curve[-1].desired == 10  # 7 / (1 x 0.7)
    assert curve[-1].mode == "stable"


def test_a_step_enters_panic_and_scales_up_within_one_tick() -> None:
    curve = replay(step, 240)
    assert curve[10].desired == 0  # the step starts at this instant: no time at 10 yet
    assert curve[11].mode == "panic"
    assert curve[11].desired >= 2 * max(1, curve[10].desired)
    assert max(d.desired for d in curve[:20]) == 15
    assert all(d.desired == 15 for d in curve[16:130])


def test_scale_down_waits_out_the_stable_window_then_the_grace_period() -> None:
    policy = Policy(max=1000)
    curve = replay(step, 240, policy)
    assert (curve[131].desired, curve[132].desired) == (15, 14)
    # After the load stops at 130 s the stable mean decays over 60 s; never below it.
    for t in range(130, 190):
        still = 10 * (190 - t) / 60
        assert curve[t].desired >= wanted(still, policy)
    assert curve[189].desired == 1
    assert [d.reason for d in curve[190:220]] == ["scale-to-zero grace"] * 30
    assert all(d.desired == 1 for d in curve[190:220])
    assert all(d.desired == 0 for d in curve[220:])


def test_a_ramp_is_followed_in_stable_mode_without_overshoot() -> None:
    policy = Policy(max=1000)
    curve = replay(ramp, 600, policy)
    counts = [d.desired for d in curve]
    assert counts[120:] == sorted(counts[120:])  # never scales down on the way up
    for t in range(120, 600):
        assert counts[t] <= wanted(ramp(t), policy)  # the stable mean lags the ramp
        assert counts[t] >= wanted(ramp(t - 60), policy)  # by at most the stable window
    assert counts[-1] == wanted(30, policy)
    assert all(d.mode == "stable" for d in curve[120:])


def test_a_spike_panics_holds_its_peak_for_a_stable_window_then_halves_at_most() -> None:
    policy = Policy(max=1000)
    curve = replay(spike, 400, policy)
    assert curve[99].mode == "stable" and curve[99].desired == wanted(2, policy)
    assert curve[101].mode == "panic"
    assert curve[101].desired > curve[100].desired
    peak = max(d.desired for d in curve)
    assert peak == wanted(40, policy)
    last_over = max(t for t, d in enumerate(curve)
                    if d.panic_desired >= 2 * max(1, curve[t - 1].desired))
    in_panic = [t for t, d in enumerate(curve) if d.mode == "panic"]
    assert in_panic[-1] == last_over + 60  # a stable window after the last over-threshold tick
    panicking = [d.desired for d in curve[in_panic[0]:in_panic[-1] + 1]]
    assert panicking == sorted(panicking)  # no scale-down while in panic
    for t in range(in_panic[-1] + 1, 400):
        assert curve[t].desired >= curve[t - 1].desired // 2  # max scale-down rate 2x


@pytest.mark.parametrize("shape", [step, ramp, spike, sawtooth, diurnal])
def test_the_curve_stays_between_min_and_max(shape: Load) -> None:
    policy = Policy(min=2, max=6)
    curve = replay(shape, 900, policy)
    assert all(2 <= d.desired <= 6 for d in curve)
    assert any(d.reason == "max" for d in curve)


def test_a_sawtooth_keeps_capacity_for_its_peaks_between_teeth() -> None:
    policy = Policy(max=1000)
    curve = replay(sawtooth, 600, policy)
    tooth_mean = sum(sawtooth(t) for t in range(30)) / 30
    settled = [d.desired for d in curve[120:]]
    assert min(settled) >= wanted(tooth_mean, policy)  # the mean of a tooth, not its trough
    assert max(settled) <= wanted(10, policy)


def test_a_diurnal_curve_is_tracked_within_the_stable_window() -> None:
    policy = Policy(max=1000)
    curve = replay(diurnal, 3600, policy)
    for t in range(120, 3600):
        lo = min(diurnal(t - s) for s in range(0, 61))
        hi = max(diurnal(t - s) for s in range(0, 61))
        assert wanted(lo, policy) - 1 <= curve[t].desired <= wanted(hi, policy)
    assert all(d.mode == "stable" for d in curve[180:])  # the start from zero panicked


def test_scale_up_is_bounded_by_the_max_scale_up_rate() -> None:
    policy = Policy(max=1000, max_scale_up_rate=2.0)
    curve = replay(lambda t: 100.0, 30, policy)
    for before, after in itertools.pairwise(curve):
        assert after.desired <= max(2, 2 * before.desired)
    assert any(d.reason == "max scale-up rate" for d in curve)


def test_scale_down_delay_holds_the_highest_recent_count() -> None:
    policy = Policy(max=1000, scale_down_delay=120.0)
    curve = replay(step, 400, policy)
    last_wanting_15 = 131  # without the delay the count falls at 132 (previous test)
    assert all(d.desired == 15 for d in curve[130:last_wanting_15 + 120])
    assert curve[last_wanting_15 + 120].desired < 15
    assert "scale-down delay" in {d.reason for d in curve[130:250]}


def test_one_short_request_scales_to_zero_only_after_the_window_and_grace() -> None:
    clock = FakeClock()
    autoscaler = Autoscaler(Policy(scale_to_zero_grace=30.0))
    autoscaler.record(0.0, 1.0)
    autoscaler.record(0.2, 0.0)
    ready, counts = 0, []
    while clock.now() < 120:
        clock.advance(1)
        ready = autoscaler.desired(clock.now(), ready).desired
        counts.append(ready)
    assert counts[0] == 1
    last_busy = max(t for t, n in enumerate(counts, start=1) if n)
    # The stable mean covers the 0.2 s request through t = 60; zero is first wanted at 61,
    # and the grace keeps the instance 30 s more.
    assert last_busy == 61 + 29


def test_requests_per_second_scale_the_same_way() -> None:
    policy = Policy(max=1000, metric="rps", target=10.0)
    curve = replay(lambda t: 70.0, 120, policy)
    assert curve[-1].desired == 10


def test_min_instances_stay_without_load() -> None:
    curve = replay(lambda t: 0.0, 100, Policy(min=3))
    assert all(d.desired == 3 and d.reason == "min" for d in curve)


def test_the_decision_shows_its_averages() -> None:
    decision = replay(lambda t: 3.5, 70)[-1]
    assert decision.stable_average == pytest.approx(3.5)
    assert decision.panic_average == pytest.approx(3.5)
    assert decision.stable_desired == decision.panic_desired == 5
    assert decision.by_load == decision.desired == 5
    assert decision.reason == "stable window"


def test_a_policy_with_nonsense_values_is_refused_with_the_value() -> None:
    with pytest.raises(InvalidRequest, match=r"target_utilization.*1\.5"):
        Policy(target_utilization=1.5)
    with pytest.raises(InvalidRequest, match=r"panic_window.*120"):
        Policy(panic_window=120.0)
    with pytest.raises(InvalidRequest, match=r"keep_alive_policy.*'lru'"):
        Policy(keep_alive_policy="lru")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="max_scale_down_rate"):
        Policy(max_scale_down_rate=1.0)
    with pytest.raises(InvalidRequest, match="min 5, max 2"):
        Policy(min=5, max=2)
