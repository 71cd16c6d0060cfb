"""The bucketed window: time-weighted means over two trailing windows, bounded memory."""

from __future__ import annotations

import pytest

from yun.autoscaler import Window


def test_a_level_held_for_the_whole_window_is_its_mean() -> None:
    window = Window(long=60, short=6)
    window.record(0.0, 4.0)
    assert window.means(120.0) == (4.0, 4.0)


def test_means_are_time_weighted_not_per_sample() -> None:
    window = Window(long=60, short=6)
    window.record(100.0, 0.0)
    window.record(159.0, 10.0)  # one request-burst of 10 for 0.1 s, three samples in a bucket
    window.record(159.1, 0.0)
    window.record(159.5, 0.0)
    long, short = window.means(160.0)
    assert long == pytest.approx(1.0 / 60)
    assert short == pytest.approx(1.0 / 6)


def test_recording_every_tick_or_only_on_change_gives_the_same_means() -> None:
    on_change, every_tick = Window(60, 6), Window(60, 6)
    load = {0: 2.0, 17: 5.0, 41: 1.0, 90: 0.0}
    level = 0.0
    for tick in range(240):
        now = tick / 2
        if now in load:
            level = load[int(now)]
            on_change.record(now, level)
        every_tick.record(now, level)
        assert on_change.means(now) == pytest.approx(every_tick.means(now))


def test_only_the_time_since_the_first_sample_is_averaged() -> None:
    window = Window(long=60, short=6)
    window.record(1000.0, 3.0)
    assert window.means(1000.0) == (3.0, 3.0)
    assert window.means(1010.0) == pytest.approx((3.0, 3.0))


def test_a_window_without_samples_is_zero() -> None:
    assert Window(60, 6).means(5.0) == (0.0, 0.0)


def test_the_means_fall_to_exactly_zero_a_window_after_the_load_stops() -> None:
    window = Window(long=60, short=6)
    for second in range(0, 3600):
        window.record(float(second), (second * 7919) % 13 / 3)  # awkward floats
    window.record(3600.0, 0.0)
    assert window.means(3605.9)[1] > 0
    assert window.means(3606.0)[1] == 0.0
    assert window.means(3659.9)[0] > 0
    assert window.means(3660.0) == (0.0, 0.0)


def test_a_sparse_replay_costs_no_more_than_the_samples_it_records() -> None:
    window = Window(long=60, short=6)
    for minute in range(0, 14 * 1440):  # two weeks, one sample a minute
        window.record(minute * 60.0, float(minute % 5))
    assert len(window._idx) - window._head <= 3
    assert window.means(14 * 1440 * 60.0) == pytest.approx((4.0, 4.0))


def test_memory_stays_bounded_by_the_buckets_of_the_long_window() -> None:
    window = Window(long=60, short=6)
    for i in range(100_000):  # 100 samples a second for 1000 s
        window.record(i / 100, float(i % 7))
        window.means(i / 100)
    assert len(window._idx) - window._head <= 62
    assert len(window._idx) <= 2 * 64 + 62


def test_weeks_of_large_values_keep_their_precision() -> None:
    window = Window(long=60, short=6)
    for minute in range(0, 14 * 1440):
        window.record(minute * 60.0, 1000.0)
        window.record(minute * 60.0 + 30.0, 1000.0 + 1e-3)
    long, _ = window.means(14 * 1440 * 60.0)
    assert long == pytest.approx(1000.0 + 0.5e-3, abs=1e-9)


def test_time_never_goes_back() -> None:
    window = Window(60, 6)
    window.record(10.0, 1.0)
    with pytest.raises(ValueError, match="back in time"):
        window.record(9.0, 1.0)
    with pytest.raises(ValueError, match="back in time"):
        window.means(9.0)


def test_samples_are_non_negative_numbers() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        Window(60, 6).record(0.0, -1.0)
    with pytest.raises(ValueError, match=">= 0"):
        Window(60, 6).record(0.0, float("nan"))
