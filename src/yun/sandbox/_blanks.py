"""How many blank sandboxes to keep started ahead of demand, and when to start them.

Pure decisions, fed with cold starts (templates, and instances a blank serves itself) and
`now`. A cold start of a function without a template costs ≈ 2.5 ms of init from a blank
against ≈ 17 ms from a fresh sandbox (and, on a 2-core machine, 100 fresh sandboxes at once
take a second of both cores). So the pool grows to the largest burst of cold starts seen
lately, within a memory budget, and is refilled only once the burst is over: a refill during
a burst competes for the CPU with the very cold starts it is meant to speed up.
"""

from __future__ import annotations

import math
from collections import deque

BLANK_MB = 4  # one waiting blank: ≈ 2.6 MiB PSS measured, plus its namespaces and cgroups
MEMORY_SHARE = 0.02  # at most this share of the machine's memory is spent on waiting blanks
MAX_BLANKS = 256
WINDOW_SECONDS = 600.0  # a burst is remembered this long
BURST_GAP_SECONDS = 1.0  # starts closer together than this are one burst
HEADROOM = 1.25  # keep a quarter more than the largest recent burst
QUIET_SECONDS = 0.5  # refill only this long after the last template start (its fork, first call)


def memory_ceiling(total_mb: int, floor: int) -> int:
    """The most blanks the machine's memory allows (never below the configured floor)."""
    return max(floor, min(MAX_BLANKS, int(total_mb * MEMORY_SHARE) // BLANK_MB))


class BlankDemand:
    """Sizes the blank pool from the template starts it hears about.

    `target(now)` is the configured `floor`, raised to `HEADROOM` × the largest burst of
    template starts in the last `window` seconds, capped at `ceiling`. `quiet(now)` says
    whether a refill may run: no start for `quiet` seconds.
    """

    def __init__(self, floor: int, ceiling: int, window: float = WINDOW_SECONDS,
                 gap: float = BURST_GAP_SECONDS, quiet: float = QUIET_SECONDS) -> None:
        if floor < 0 or ceiling < floor:
            raise ValueError(f"blanks need 0 <= floor <= ceiling, were: {floor}, {ceiling}")
        self.floor = floor
        self.ceiling = ceiling
        self.window = window
        self.gap = gap
        self.quiet_seconds = quiet
        self._bursts: deque[tuple[float, int]] = deque()  # (last start, size), oldest first
        self._last: float | None = None
        self._busy: float | None = None

    def started(self, now: float) -> None:
        """A template is being started (from a blank or not), or a blank is to serve."""
        if self._last is not None and now - self._last < self.gap and self._bursts:
            _, size = self._bursts.pop()
            self._bursts.append((now, size + 1))
        else:
            self._bursts.append((now, 1))
        self._last = now

    def target(self, now: float) -> int:
        while self._bursts and now - self._bursts[0][0] > self.window:
            self._bursts.popleft()
        peak = max((size for _, size in self._bursts), default=0)
        return max(self.floor, min(self.ceiling, math.ceil(peak * HEADROOM)))

    def busy(self, now: float) -> None:
        """The node finished a step of a cold start (a template ready, an instance forked):
        a burst is not over while its instances still start."""
        self._busy = now

    def quiet(self, now: float) -> bool:
        """Whether a refill may run: nothing started or finished a step lately."""
        marks = [t for t in (self._last, self._busy) if t is not None]
        return not marks or now - max(marks) >= self.quiet_seconds
