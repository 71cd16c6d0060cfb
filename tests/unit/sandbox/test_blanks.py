"""The blank pool grows to recent bursts of template starts, within memory, and refills when
the burst is over."""

from __future__ import annotations

import pytest

from yun.sandbox._blanks import BLANK_MB, MAX_BLANKS, BlankDemand, memory_ceiling


def test_without_starts_the_pool_is_the_configured_floor() -> None:
    assert BlankDemand(floor=2, ceiling=100).target(now=0.0) == 2


def test_a_burst_of_starts_grows_the_pool_past_its_size() -> None:
    demand = BlankDemand(floor=2, ceiling=500)
    for i in range(100):
        demand.started(10.0 + i * 0.005)
    assert demand.target(now=11.0) == 125


def test_starts_further_apart_than_the_gap_are_separate_bursts() -> None:
    demand = BlankDemand(floor=0, ceiling=500, gap=1.0)
    for i in range(10):
        demand.started(i * 2.0)  # one cold start every 2 s: never more than one at once
    assert demand.target(now=20.0) == 2  # ceil(1 × 1.25)


def test_the_largest_recent_burst_sets_the_size() -> None:
    demand = BlankDemand(floor=2, ceiling=500)
    for i in range(40):
        demand.started(0.0 + i * 0.01)
    for i in range(8):
        demand.started(100.0 + i * 0.01)
    assert demand.target(now=101.0) == 50


def test_a_burst_is_forgotten_after_the_window() -> None:
    demand = BlankDemand(floor=2, ceiling=500, window=600.0)
    for i in range(100):
        demand.started(i * 0.01)
    assert demand.target(now=500.0) == 125
    assert demand.target(now=602.0) == 2


def test_the_pool_never_grows_past_the_memory_ceiling() -> None:
    demand = BlankDemand(floor=2, ceiling=30)
    for i in range(100):
        demand.started(i * 0.01)
    assert demand.target(now=2.0) == 30


def test_refills_wait_until_no_start_happened_for_the_quiet_period() -> None:
    demand = BlankDemand(floor=2, ceiling=30, quiet=0.1)
    assert demand.quiet(now=0.0)
    demand.started(5.0)
    assert not demand.quiet(now=5.05)
    assert demand.quiet(now=5.15)


def test_the_memory_ceiling_is_a_share_of_memory_in_blanks() -> None:
    assert memory_ceiling(total_mb=24_000, floor=2) == int(24_000 * 0.02) // BLANK_MB
    assert memory_ceiling(total_mb=1_000_000, floor=2) == MAX_BLANKS
    assert memory_ceiling(total_mb=100, floor=2) == 2  # a small machine keeps its floor


def test_a_floor_above_the_ceiling_is_refused() -> None:
    with pytest.raises(ValueError, match="floor <= ceiling"):
        BlankDemand(floor=10, ceiling=5)


def test_a_burst_is_not_over_while_its_instances_still_start() -> None:
    demand = BlankDemand(floor=2, ceiling=30, quiet=0.5)
    demand.started(5.0)
    demand.busy(5.8)  # the instance of that template forked later
    assert not demand.quiet(now=6.0)
    assert demand.quiet(now=6.3)
