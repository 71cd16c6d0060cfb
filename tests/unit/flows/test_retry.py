"""Retry back-off and the error matching of Retry and Catch (pure functions)."""

from __future__ import annotations

import random

from yun.flows._retry import (
    Catcher,
    Retrier,
    backoff_seconds,
    error_matches,
    error_output,
    find_catcher,
    find_retrier,
)


def test_backoff_grows_by_the_rate_from_the_interval() -> None:
    retrier = Retrier(("States.ALL",), interval_seconds=3, backoff_rate=2.0)
    rng = random.Random(0)
    assert [backoff_seconds(retrier, n, rng) for n in range(4)] == [3, 6, 12, 24]


def test_max_delay_seconds_caps_the_backoff() -> None:
    retrier = Retrier(("States.ALL",), interval_seconds=3, backoff_rate=2.0, max_delay_seconds=5)
    assert [backoff_seconds(retrier, n, random.Random(0)) for n in range(3)] == [3, 5, 5]


def test_full_jitter_draws_between_zero_and_the_capped_backoff() -> None:
    retrier = Retrier(
        ("States.ALL",), interval_seconds=4, backoff_rate=2.0, max_delay_seconds=6, jitter="FULL"
    )
    rng = random.Random(42)
    delays = [backoff_seconds(retrier, n, rng) for n in range(50)]
    assert all(0 <= d <= 6 for d in delays)
    assert len(set(delays)) > 1


def test_the_same_seed_gives_the_same_jitter() -> None:
    retrier = Retrier(("States.ALL",), jitter="FULL")
    assert backoff_seconds(retrier, 2, random.Random("s")) == backoff_seconds(
        retrier, 2, random.Random("s")
    )


def test_states_all_takes_any_error_but_the_terminal_ones() -> None:
    assert error_matches(("States.ALL",), "Anything")
    assert error_matches(("States.ALL",), None)
    assert not error_matches(("States.ALL",), "States.Runtime")
    assert not error_matches(("States.ALL",), "States.DataLimitExceeded")


def test_states_task_failed_takes_any_error_but_a_timeout() -> None:
    assert error_matches(("States.TaskFailed",), "Lambda.ResourceNotFoundException")
    assert not error_matches(("States.TaskFailed",), "States.Timeout")


def test_names_match_exactly() -> None:
    assert error_matches(("A", "B"), "B")
    assert not error_matches(("State.ALL",), "B")


def test_only_the_first_matching_retrier_applies() -> None:
    retriers = (Retrier(("NoSuch",)), Retrier(("Boom",), max_attempts=0), Retrier(("States.ALL",)))
    assert find_retrier(retriers, "Boom") == 1
    assert find_retrier(retriers, "Other") == 2
    assert find_retrier((), "Boom") is None


def test_the_first_matching_catcher_applies() -> None:
    catchers = (Catcher(("A",), "HandleA", None), Catcher(("States.ALL",), "HandleAll", None))
    found = find_catcher(catchers, "B")
    assert found is not None and found.next == "HandleAll"


def test_error_output_leaves_out_missing_parts() -> None:
    assert error_output("E", "C") == {"Error": "E", "Cause": "C"}
    assert error_output("E", None) == {"Error": "E"}
    assert error_output(None, None) == {}
