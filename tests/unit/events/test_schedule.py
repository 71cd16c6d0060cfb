"""Cron next-fire decisions: cron expressions in a time zone, rates, at most one catch-up."""

from __future__ import annotations

from datetime import UTC, datetime

from yun.core.types import CronTrigger
from yun.events import Schedule


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() \
        if "+" not in text else datetime.fromisoformat(text).timestamp()


def test_a_cron_expression_fires_on_its_grid() -> None:
    s = Schedule(CronTrigger("*/5 * * * *"))
    assert s.next_after(at("2026-01-01T10:02:00")) == at("2026-01-01T10:05:00")
    assert s.next_after(at("2026-01-01T10:05:00")) == at("2026-01-01T10:10:00")


def test_the_time_zone_decides_which_hour_is_nine() -> None:
    s = Schedule(CronTrigger("0 9 * * *", "Europe/Paris"))
    assert s.next_after(at("2026-01-01T00:00:00")) == at("2026-01-01T08:00:00")  # UTC+1
    assert s.next_after(at("2026-07-01T00:00:00")) == at("2026-07-01T07:00:00")  # UTC+2


def test_a_rate_fires_every_n_units_on_a_fixed_grid() -> None:
    s = Schedule(CronTrigger("rate(5 minutes)"))
    assert s.next_after(at("2026-01-01T10:02:30")) == at("2026-01-01T10:05:00")
    assert Schedule(CronTrigger("rate(1 day)")).next_after(at("2026-01-01T10:00:00")) == at(
        "2026-01-02T00:00:00")


def test_a_schedule_never_fired_waits_for_its_next_tick() -> None:
    due = Schedule(CronTrigger("*/5 * * * *")).due(None, at("2026-01-01T10:07:00"))
    assert due.ticks == () and due.next == at("2026-01-01T10:10:00")


def test_a_tick_that_came_is_due_once() -> None:
    s = Schedule(CronTrigger("*/5 * * * *"))
    due = s.due(at("2026-01-01T10:05:00"), at("2026-01-01T10:10:00.2"))
    assert due.ticks == (at("2026-01-01T10:10:00"),) and due.next == at("2026-01-01T10:15:00")
    assert s.due(at("2026-01-01T10:10:00"), at("2026-01-01T10:10:00.3")).ticks == ()


def test_after_downtime_only_the_latest_missed_tick_fires() -> None:
    s = Schedule(CronTrigger("*/5 * * * *"))
    due = s.due(at("2026-01-01T10:05:00"), at("2026-01-01T13:02:00"))
    assert due.ticks == (at("2026-01-01T13:00:00"),)
    assert due.next == at("2026-01-01T13:05:00")


def test_after_years_down_the_latest_tick_is_found_without_walking_the_gap() -> None:
    # Three years of a per-minute cron are 1.6 M ticks; walking them took a minute of the
    # event loop at start-up.
    s = Schedule(CronTrigger("* * * * *"))
    due = s.due(at("2023-01-01T00:00:00"), at("2026-01-01T10:02:30"))
    assert due.ticks == (at("2026-01-01T10:02:00"),)
    assert due.next == at("2026-01-01T10:03:00")
    exact = s.due(at("2023-01-01T00:00:00"), at("2026-01-01T10:02:00"))
    assert exact.ticks == (at("2026-01-01T10:02:00"),)
    rate = Schedule(CronTrigger("rate(1 minute)")).due(at("2023-01-01T00:00:00"),
                                                        at("2026-01-01T10:02:30"))
    assert rate.ticks == (at("2026-01-01T10:02:00"),)


def test_the_latest_missed_tick_respects_the_time_zone_across_a_dst_change() -> None:
    s = Schedule(CronTrigger("30 2 * * *", "Europe/Paris"))  # 02:30 does not exist on Mar 29
    due = s.due(at("2026-03-01T01:30:00"), at("2026-03-30T12:00:00"))
    assert due.ticks == (at("2026-03-30T00:30:00"),)  # 02:30 CEST
    assert due.next == at("2026-03-31T00:30:00")
