"""The cron source against a real store: each tick once, restarts never double-fire."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from events_recording import RecordingSubmit

from yun.core import FakeClock, PlatformError
from yun.core.types import CronTrigger
from yun.events import CronSource
from yun.store import Store

START = datetime(2026, 1, 1, 10, 2, tzinfo=UTC).timestamp()
EVERY_5 = CronTrigger("*/5 * * * *")


def source(store: Store, submit: RecordingSubmit, clock: FakeClock) -> CronSource:
    return CronSource(store, submit, "default", "report", EVERY_5, clock=clock)


async def test_a_tick_is_submitted_as_a_cloudevent_with_a_stable_dedupe_key(
        store: Store, submit: RecordingSubmit) -> None:
    clock = FakeClock(START)
    cron = source(store, submit, clock)
    assert await cron.step() == START + 180  # 10:05
    assert submit.calls == []
    clock.advance(180.5)
    await cron.step()
    (call,) = submit.calls
    event = json.loads(call.body)
    assert (call.target, call.source) == ("report", "cron")
    assert call.dedupe_key == f"cron:report:*/5 * * * * UTC:{START + 180:.0f}"
    assert event["type"] == "yun.cron.tick" and event["specversion"] == "1.0"
    assert event["data"]["scheduled_time"] == "2026-01-01T10:05:00Z"
    assert event["source"] == "/yun/default/cron/report"


async def test_a_restart_at_the_same_moment_does_not_fire_the_tick_again(
        store: Store, submit: RecordingSubmit) -> None:
    clock = FakeClock(START)
    await source(store, submit, clock).step()
    clock.advance(181)
    await source(store, submit, clock).step()
    await source(store, submit, clock).step()  # "restarted" twice
    assert len(submit.calls) == 1


async def test_after_three_hours_down_one_catch_up_fires(
        store: Store, submit: RecordingSubmit) -> None:
    clock = FakeClock(START)
    await source(store, submit, clock).step()
    clock.advance(3 * 3600)
    await source(store, submit, clock).step()
    (call,) = submit.calls
    assert json.loads(call.body)["data"]["scheduled_time"] == "2026-01-01T13:00:00Z"


async def test_a_failed_submit_leaves_the_tick_to_fire_later(
        store: Store, submit: RecordingSubmit) -> None:
    clock = FakeClock(START)
    cron = source(store, submit, clock)
    await cron.step()
    clock.advance(181)
    submit.fail = PlatformError("queue down")
    with pytest.raises(PlatformError):
        await cron.step()
    submit.fail = None
    await cron.step()
    assert len(submit.calls) == 1


async def test_run_sleeps_until_the_next_tick_and_fires_it(
        store: Store, submit: RecordingSubmit) -> None:
    clock = FakeClock(START)
    naps: list[float] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock.advance(seconds + 0.1)
        if len(naps) == 8:
            raise TimeoutError  # ends the test's run loop

    cron = CronSource(store, submit, "default", "report", EVERY_5, clock=clock, sleep=sleep)
    with pytest.raises(TimeoutError):
        await cron.run()
    assert naps[0] == 30.0  # never more than RECHECK at once
    assert len(submit.calls) >= 1
