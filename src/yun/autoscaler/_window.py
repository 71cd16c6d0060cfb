"""Time-weighted means of a step signal over two trailing windows, in bounded memory."""

from __future__ import annotations

import math
from bisect import bisect_right

# Integrals are rebased past this, so that the difference of two of them (a window's area)
# keeps ~10 significant digits after weeks of replayed load.
_REBASE_AT = 1e6
_COMPACT_AT = 64


class Window:
    """The mean of a signal over the last `long` and the last `short` seconds.

    The signal is a step function: `record(now, value)` sets it until the next record. A caller
    records on every change (each arrival and completion: the mean is then the exact
    time-weighted in-flight count, however short the requests) or once per tick, or both.
    Time before the first record belongs to no window: the means cover what has been seen.

    The integral of the signal is kept at the end of every `bucket` in which something was
    recorded: at most one entry per bucket of the long window however often values arrive,
    and a gap of hours costs what a gap of a second does, so a replay can record once a
    minute. A window edge inside a bucket where the signal changed is interpolated linearly:
    the one approximation, bounded by that bucket's share of the window.
    """

    def __init__(self, long: float, short: float, bucket: float = 1.0) -> None:
        if not 0 < bucket <= short <= long:
            raise ValueError("windows must satisfy 0 < bucket <= short <= long, was: "
                             f"bucket {bucket}, short {short}, long {long}")
        self.long = long
        self.short = short
        self.bucket = bucket
        # Closed buckets that had a record: index, integral at the bucket's end, level then.
        self._idx: list[int] = []
        self._end: list[float] = []
        self._level_at_end: list[float] = []
        self._head = 0  # entries before it can no longer be reached by a window
        self._forget_at = math.inf  # when the entry after the head leaves the long window
        self._first: float | None = None  # time of the first record
        self._t = 0.0  # time of the last record
        self._open = 0  # its bucket, the one still open
        self._level = 0.0  # the signal since then
        self._area = 0.0  # integral of the signal from the first record to _t
        self._zero_since: float | None = None  # when the signal last became 0; None while > 0

    @property
    def level(self) -> float:
        """The last recorded value."""
        return self._level

    def record(self, now: float, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"a sample must be a number >= 0, was: {value}")
        if self._first is None:
            self._first = self._t = now
            self._open = math.floor(now / self.bucket)
            self._level = value
            self._zero_since = now if value == 0 else None
            return
        last = self._t
        if now < last:
            raise ValueError(f"samples must not go back in time: {now} came after {last}")
        idx = math.floor(now / self.bucket)
        if idx != self._open:
            end = (self._open + 1) * self.bucket
            self._idx.append(self._open)
            self._end.append(self._area + (end - last) * self._level)
            self._level_at_end.append(self._level)
            if len(self._idx) == self._head + 2:
                self._forget_at = end + self.long
            self._open = idx
        self._area += (now - last) * self._level
        self._t = now
        if value == 0:
            if self._zero_since is None:
                self._zero_since = now
        else:
            self._zero_since = None
        self._level = value
        if now >= self._forget_at:
            self._forget(now)

    def means(self, now: float) -> tuple[float, float]:
        """(long, short) means at `now`; (0, 0) before the first record."""
        if self._first is None:
            return 0.0, 0.0
        if now < self._t:
            raise ValueError(f"a query must not go back in time: {now} came after {self._t}")
        if now >= self._forget_at:
            self._forget(now)
        total = self._area + (now - self._t) * self._level
        return self._mean(now, self.long, total), self._mean(now, self.short, total)

    def _mean(self, now: float, width: float, total: float) -> float:
        if self._zero_since is not None and self._zero_since <= now - width:
            return 0.0  # exactly: a float residue here would keep an instance alive
        assert self._first is not None
        start = now - width
        if start < self._first:
            start = self._first
        if now <= start:
            return self._level
        return max(0.0, (total - self._integral(start)) / (now - start))

    def _integral(self, x: float) -> float:
        """The signal's integral from the first record to x (first record <= x <= now)."""
        if x >= self._t:
            return self._area + (x - self._t) * self._level
        assert self._first is not None
        b = math.floor(x / self.bucket)
        start = b * self.bucket
        lo_t, lo = max(start, self._first), self._boundary(b - 1)
        if b == self._open:
            hi_t, hi = self._t, self._area
        else:
            hi_t, hi = start + self.bucket, self._boundary(b)
        return lo + (hi - lo) * (x - lo_t) / (hi_t - lo_t)

    def _boundary(self, j: int) -> float:
        """The integral at the end of bucket j, a bucket before the one last recorded in."""
        pos = bisect_right(self._idx, j, self._head) - 1
        if pos < self._head:
            return 0.0  # before the first record (_forget keeps an entry below every edge)
        return self._end[pos] + (j - self._idx[pos]) * self.bucket * self._level_at_end[pos]

    def _forget(self, now: float) -> None:
        # Keep the last entry at or before the bucket under the long window's edge: every
        # later lookup lands on it or after it.
        edge = math.floor((now - self.long) / self.bucket) - 1
        idx, head = self._idx, self._head
        while head + 1 < len(idx) and idx[head + 1] <= edge:
            head += 1
        if head >= _COMPACT_AT and head * 2 >= len(idx):
            del idx[:head], self._end[:head], self._level_at_end[:head]
            head = 0
        self._head = head
        if head < len(idx) and idx[head] <= edge and self._end[head] > _REBASE_AT:
            base = self._end[head]
            ends = self._end
            for i in range(head, len(ends)):
                ends[i] -= base
            self._area -= base
        # An entry leaves once the long window's edge has passed the end of its bucket.
        self._forget_at = ((idx[head + 1] + 1) * self.bucket + self.long
                           if head + 1 < len(idx) else math.inf)
