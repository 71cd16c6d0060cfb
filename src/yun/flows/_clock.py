"""The runner's wall clock, injected: timers fire at wall-clock times that survive restarts.

`FakeWallClock` only moves when told to, so tests run hours of waits in no time and never
sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Protocol


class WallClock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch."""
        ...

    async def wait(self, wake: asyncio.Event, seconds: float | None) -> None:
        """Return when `wake` is set or `seconds` have passed (None: only `wake`)."""
        ...


class SystemWallClock:
    def time(self) -> float:
        return time.time()

    async def wait(self, wake: asyncio.Event, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None if seconds is None else max(0.0, seconds)):
                await wake.wait()


class FakeWallClock:
    """A wall clock that only moves when `advance` is called."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self._now

    async def wait(self, wake: asyncio.Event, seconds: float | None) -> None:
        if wake.is_set() or (seconds is not None and seconds <= 0):
            return
        waker = asyncio.ensure_future(wake.wait())
        tasks: set[asyncio.Future[Any]] = {waker}
        timer: asyncio.Future[None] | None = None
        if seconds is not None:
            timer = asyncio.get_running_loop().create_future()
            self._sleepers.append((self._now + seconds, timer))
            tasks.add(timer)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
            if timer is not None:
                timer.cancel()
                self._sleepers = [(at, f) for at, f in self._sleepers if f is not timer]

    def advance(self, seconds: float) -> None:
        """Move on by `seconds` and wake every wait whose time has come."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back, advance was: {seconds}")
        self._now += seconds
        for at, future in self._sleepers:
            if at <= self._now and not future.done():
                future.set_result(None)
