"""A function's `scale` section becomes the node's autoscaling policy."""

from __future__ import annotations

from yun.autoscaler import Policy, Scaler, function_policy
from yun.core import FakeClock
from yun.core.types import ScaleSpec


def test_the_window_follows_a_short_keep_alive_down_to_knatives_six_seconds() -> None:
    assert function_policy(ScaleSpec(keep_alive=2.0)).stable_window == 6.0
    assert function_policy(ScaleSpec(keep_alive=20.0)).stable_window == 20.0
    assert function_policy(ScaleSpec(keep_alive=600.0)).stable_window == 60.0


def test_an_explicit_window_wins_and_the_panic_window_is_a_tenth_of_it() -> None:
    policy = function_policy(ScaleSpec(keep_alive=2.0, window=120.0))
    assert policy.stable_window == 120.0
    assert policy.panic_window == 12.0
    assert function_policy(ScaleSpec(keep_alive=2.0)).panic_window == 1.0


def test_the_keep_alive_policy_guards_the_last_instance_not_a_grace_period() -> None:
    policy = function_policy(ScaleSpec(keep_alive=30.0, keep_alive_policy="hybrid"))
    assert policy.scale_to_zero_grace == 0.0
    assert policy.keep_alive_policy == "hybrid"
    assert (policy.min, policy.max, policy.target, policy.keep_alive) == (0, 10, 1.0, 30.0)


def test_instances_are_aimed_at_their_full_target_unless_the_manifest_asks_for_headroom() -> None:
    assert function_policy(ScaleSpec()).target_utilization == 1.0
    assert function_policy(ScaleSpec(target_utilization=0.7)).instance_target == 0.7


def test_a_two_second_keep_alive_reaches_zero_one_window_after_the_burst() -> None:
    clock = FakeClock()
    scaler = Scaler(function_policy(ScaleSpec(max=10, keep_alive=2.0)))
    scaler.record(clock.now(), 5)
    ready = scaler.desired(clock.now(), 0).desired
    assert ready == 5  # panicking: 5 wanted, none ready
    clock.advance(1)
    scaler.record(clock.now(), 0)
    curve = []
    for _ in range(20):  # ticks of 0.5 s, as the node's
        clock.advance(0.5)
        ready = scaler.desired(clock.now(), ready).desired
        curve.append(ready)
    # Panic holds the 5 for a window, then at most halving per tick: 9 s, not 60 + 30 s.
    assert curve[-2:] == [0, 0], curve


def test_filled_is_what_the_demand_right_now_fills_at_full_target() -> None:
    scaler = Scaler(Policy(max=4, target=2))
    scaler.record(0.0, 5)
    assert scaler.filled == 3
    scaler.record(0.0, 50)
    assert scaler.filled == 4
    scaler.record(0.0, 0)
    assert scaler.filled == 0

