"""The autoscaler's decisions, driven by a fake clock."""

from __future__ import annotations

from yun.autoscaler import InstanceView, Policy, decide, desired_instances
from yun.core import FakeClock


def test_demand_divided_by_target_decides_instances_rounding_up() -> None:
    policy = Policy(min=0, max=10, target=2)
    assert desired_instances(0, policy) == 0
    assert desired_instances(1, policy) == 1
    assert desired_instances(4, policy) == 2
    assert desired_instances(5, policy) == 3


def test_desired_instances_stay_between_min_and_max() -> None:
    policy = Policy(min=2, max=4, target=1)
    assert desired_instances(0, policy) == 2
    assert desired_instances(100, policy) == 4


def test_an_idle_instance_is_kept_until_keep_alive_has_passed() -> None:
    clock = FakeClock()
    policy = Policy(keep_alive=600)
    idle = [InstanceView("a", 0, clock.now())]
    clock.advance(599)
    assert decide(idle, 0, policy, clock.now()).reap == ()
    clock.advance(1)
    assert decide(idle, 0, policy, clock.now()).reap == ("a",)


def test_busy_instances_are_never_reaped() -> None:
    clock = FakeClock(1000)
    busy = [InstanceView("a", 1, None)]
    assert decide(busy, 1, Policy(keep_alive=0), clock.now()).reap == ()


def test_min_instances_stay_warm_however_long_they_idle() -> None:
    clock = FakeClock()
    views = [InstanceView(i, 0, clock.now()) for i in "abc"]
    clock.advance(10_000)
    decision = decide(views, 0, Policy(min=2, keep_alive=10), clock.now())
    assert len(decision.reap) == 1


def test_the_longest_idle_instances_go_first() -> None:
    clock = FakeClock()
    views = [InstanceView("old", 0, 0.0), InstanceView("new", 0, 50.0)]
    clock.advance(100)
    assert decide(views, 0, Policy(min=1, keep_alive=10), clock.now()).reap == ("old",)


def test_instances_needed_by_current_demand_are_kept_even_when_idle_long() -> None:
    clock = FakeClock()
    views = [InstanceView("a", 0, 0.0), InstanceView("b", 1, None)]
    clock.advance(1000)
    # demand 2 at target 1 needs both instances
    assert decide(views, 2, Policy(keep_alive=10), clock.now()).reap == ()


def test_a_day_of_bursts_scales_up_and_back_to_zero() -> None:
    clock = FakeClock()
    policy = Policy(max=5, keep_alive=600)
    instances: dict[str, InstanceView] = {}
    peak = 0
    for minute in range(24 * 60):
        demand = 7 if minute % 180 == 0 else 0
        wanted = desired_instances(demand, policy)
        while len(instances) < wanted:
            name = f"i{minute}-{len(instances)}"
            instances[name] = InstanceView(name, 0, clock.now())
        peak = max(peak, len(instances))
        for name in decide(list(instances.values()), demand, policy, clock.now()).reap:
            del instances[name]
        clock.advance(60)
    assert peak == 5
    assert instances == {}
