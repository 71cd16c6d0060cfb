"""The cron source: fires one function's schedule into the async path.

Durability: a tick is submitted first and recorded as fired after; a crash in between re-sends
it on restart with the same dedupe key, which the queue absorbs. Recording first would lose the
tick instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from yun.core import Clock, NotFound, YunError
from yun.core.types import CronTrigger
from yun.events._cloudevents import new_event, rfc3339
from yun.events._schedule import Schedule
from yun.events._source import WallClock, source_uri
from yun.queue import Submit
from yun.store import Store

log = logging.getLogger("yun.events")

RECHECK = 30.0  # seconds between looks at the clock at most, so a clock jump is noticed
RETRY = 5.0  # seconds before trying again after the store or the queue failed


class CronSource:
    def __init__(self, store: Store, submit: Submit, tenant: str, function: str,
                 trigger: CronTrigger, clock: Clock | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store = store
        self.submit = submit
        self.tenant = tenant
        self.function = function
        self.schedule = Schedule(trigger)
        self.clock = clock or WallClock()
        self.sleep = sleep

    async def step(self) -> float:
        """Fire what is due now; return when the next tick is."""
        now = self.clock.now()
        key = self.schedule.key
        last = await self.store.last_cron_tick(self.tenant, self.function, key)
        due = self.schedule.due(last, now)
        if last is None:  # from now on, a missed tick is caught up after downtime
            await self.store.set_cron_tick(self.tenant, self.function, key, now)
        for tick in due.ticks:
            when = rfc3339(tick)
            trigger = self.schedule.trigger
            event = new_event(
                source_uri(self.tenant, "cron", self.function), "yun.cron.tick",
                {"schedule": trigger.schedule, "timezone": trigger.timezone,
                 "scheduled_time": when, "late_seconds": round(now - tick, 3)},
                subject=self.function, id=f"{self.function}:{when}", time=tick)
            dedupe = f"cron:{self.function}:{key}:{tick:.0f}"
            await self.submit(self.tenant, self.function, event.to_json(), "cron", dedupe)
            await self.store.set_cron_tick(self.tenant, self.function, key, tick)
        return due.next

    async def run(self) -> None:
        """Until cancelled. Failures are logged and retried; the tick is not lost."""
        while True:
            try:
                wake = await self.step()
            except NotFound:
                return  # the function was removed; the manager stops this source anyway
            except (YunError, OSError) as exc:
                log.warning("cron %s/%s: %s; retrying in %.0fs", self.tenant, self.function,
                            exc, RETRY)
                await self.sleep(RETRY)
                continue
            await self.sleep(min(max(wake - self.clock.now(), 0.0), RECHECK))
