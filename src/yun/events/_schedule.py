"""When a cron trigger fires. Pure: fed with the last fired tick and `now` (epoch seconds).

Ticks are points on a fixed grid (cron fields in the trigger's time zone; `rate(N unit)`
multiples of N units since the epoch), so a tick's time is a stable identity: the source
submits each with the dedupe key `cron:<function>:<tick>`, and a restart that re-sends a tick
is absorbed by the queue instead of running the function twice.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from yun.core._triggers import RATE
from yun.core.types import CronTrigger

_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True, slots=True)
class Due:
    ticks: tuple[float, ...]  # to fire now, oldest first (at most one)
    next: float  # the next tick after `now`


class Schedule:
    def __init__(self, trigger: CronTrigger) -> None:
        self.trigger = trigger
        self.key = f"{trigger.schedule} {trigger.timezone}"
        rate = RATE.fullmatch(trigger.schedule)
        self._period = int(rate.group(1)) * _UNIT[rate.group(2).rstrip("s")] if rate else None
        self._zone = zoneinfo.ZoneInfo(trigger.timezone)

    def next_after(self, t: float) -> float:
        """The first tick strictly after `t`."""
        if self._period is not None:
            return (math.floor(t / self._period) + 1) * self._period
        start = datetime.fromtimestamp(t, self._zone)
        return float(croniter(self.trigger.schedule, start).get_next(float))

    def due(self, last: float | None, now: float) -> Due:
        """Ticks to fire at `now`, given the last one fired. After downtime only the latest
        missed tick fires (at most one catch-up); a schedule never fired before starts with
        the next tick, not with a catch-up."""
        if last is None:
            return Due((), self.next_after(now))
        tick = self.next_after(last)
        if tick > now:
            return Due((), tick)
        latest = max(tick, self._latest_at_or_before(now))
        return Due((latest,), self.next_after(latest))

    def _latest_at_or_before(self, t: float) -> float:
        """The last tick at or before `t`, found directly (a long downtime is many ticks)."""
        if self._period is not None:
            return math.floor(t / self._period) * self._period
        start = datetime.fromtimestamp(t, self._zone)
        previous = float(croniter(self.trigger.schedule, start).get_prev(float))
        following = self.next_after(previous)
        return following if following <= t else previous
