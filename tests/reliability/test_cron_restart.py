"""Cron across restarts, with the real store and the real SQLite queue behind `Submitter`:
a tick is never run twice, and downtime yields at most one catch-up. The clock is a
`FakeClock` on the wall-clock scale, so hours of schedule take milliseconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from yun.core import FakeClock, Manifest
from yun.core.types import CronTrigger
from yun.events import CronSource
from yun.queue import SqlQueue, Submitter
from yun.store import Store

START = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC).timestamp()
EVERY_MINUTE = CronTrigger("* * * * *")


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Store, SqlQueue]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}"
    store = await Store.open(url)
    await store.create_version("default", Manifest(name="tick", handler="m:f"), "c", None, 1)
    queue = SqlQueue.open(url)
    try:
        yield store, queue
    finally:
        await queue.close()
        await store.close()


async def jobs(queue: SqlQueue) -> list[bytes]:
    leases = await queue.take(100, 60.0)
    return [lease.job.body for lease in leases]


async def test_a_crash_between_submit_and_record_does_not_fire_the_tick_twice(
        parts: tuple[Store, SqlQueue]) -> None:
    store, queue = parts
    clock = FakeClock(START)
    submitter = Submitter(queue, store)
    await CronSource(store, submitter, "default", "tick", EVERY_MINUTE, clock=clock).step()

    async def crash_after_submit(*args: object) -> str:
        await submitter(*args)  # type: ignore[arg-type]
        raise Crash  # died before the tick was recorded as fired

    clock.advance(60)
    with pytest.raises(Crash):
        await CronSource(store, crash_after_submit, "default", "tick", EVERY_MINUTE,
                         clock=clock).step()
    clock.advance(5)  # restarted a few seconds later
    await CronSource(store, submitter, "default", "tick", EVERY_MINUTE, clock=clock).step()
    assert len(await jobs(queue)) == 1


async def test_three_hours_down_fire_one_catch_up_then_the_schedule_goes_on(
        parts: tuple[Store, SqlQueue]) -> None:
    store, queue = parts
    clock = FakeClock(START)
    submitter = Submitter(queue, store)
    cron = CronSource(store, submitter, "default", "tick", EVERY_MINUTE, clock=clock)
    await cron.step()
    for _ in range(3):  # three ticks while up
        clock.advance(60)
        await cron.step()
    clock.advance(3 * 3600)  # down for three hours
    restarted = CronSource(store, submitter, "default", "tick", EVERY_MINUTE, clock=clock)
    await restarted.step()
    await restarted.step()  # a second look at the same moment fires nothing
    clock.advance(60)
    await restarted.step()
    assert len(await jobs(queue)) == 3 + 1 + 1
