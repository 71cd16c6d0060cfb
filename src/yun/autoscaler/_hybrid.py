"""The hybrid histogram keep-alive policy of Shahrad et al., "Serverless in the Wild:
Characterizing and Optimizing the Serverless Workload at a Large Cloud Provider" (USENIX ATC'20).

Per function, a histogram of idle times (from an invocation's end to the next arrival) in
1-minute bins up to 4 hours. When it is representative, the function is unloaded as soon as
it falls idle, pre-warmed at the 5th percentile idle time less 10 %, and kept until the 99th
percentile plus 10 %; if the head is in the first bin there is nothing to pre-warm and the
instance just stays until then. When it is not, the fixed policy decides.

Representative means the paper's test, bin counts with a coefficient of variation of at
least 2, plus ours for small samples: N idle times spread evenly over n bins show a CV of
about sqrt(n / N) from sampling noise alone (above 2 for N < 60 of 240 bins), so the CV must
also be twice that noise floor. A strict period passes after ~5 idle times (its CV is
sqrt(n) ~ 15); a Poisson function seen 30 times does not.

When most idle times are beyond 4 hours the paper forecasts the next one with ARIMA. Here,
ARIMA-free: the forecast is the median of the last few idle times, used only when all but
one of them lie within 15 % of it (a steady period, where ARIMA's forecast is that level);
then the function is pre-warmed at 85 % of it and kept until 115 %. Otherwise the fixed
policy decides: a pre-warm window 30 % of an irregular day-long gap mostly wastes memory.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from yun.autoscaler._keepalive import IdlePlan
from yun.core import InvalidRequest


@dataclass(frozen=True, slots=True)
class HistogramSettings:
    """The paper's parameters (range, bins, percentiles, margins, thresholds) and ours."""

    range: float = 4 * 3600.0  # idle times beyond are out of bounds
    bin_width: float = 60.0
    head: float = 0.05  # pre-warm at this percentile ...
    tail: float = 0.99  # ... keep until this one
    margin: float = 0.10  # pre-warm 10 % earlier, keep 10 % longer
    cv_threshold: float = 2.0  # flatter histograms are not representative
    noise_factor: float = 2.0  # ... nor ones whose CV is under this x sqrt(bins / samples)
    min_samples: int = 5  # in-bound idle times before the histogram is trusted (ours)
    oob_threshold: float = 0.5  # this share out of bounds switches to the forecast
    forecast_margin: float = 0.15  # keep [1 - m, 1 + m] x the forecast
    forecast_history: int = 5  # the forecast is the median of this many last idle times
    forecast_min_samples: int = 2  # idle times before a forecast is made (ours)

    def __post_init__(self) -> None:
        if not 0 < self.bin_width <= self.range < math.inf:
            raise InvalidRequest(f"histogram bin_width must be in (0, range], was: "
                                 f"{self.bin_width} (range {self.range})")
        if not 0 <= self.head <= self.tail <= 1:
            raise InvalidRequest(f"histogram percentiles must satisfy 0 <= head <= tail <= 1, "
                                 f"was: head {self.head}, tail {self.tail}")
        for name in ("cv_threshold", "noise_factor"):
            if not 0 <= getattr(self, name) < math.inf:
                raise InvalidRequest(f"histogram {name} must be a number >= 0, "
                                     f"was: {getattr(self, name)}")
        if not 0 < self.oob_threshold <= 1:
            raise InvalidRequest(f"histogram oob_threshold must be in (0, 1], "
                                 f"was: {self.oob_threshold}")
        for name in ("margin", "forecast_margin"):
            if not 0 <= getattr(self, name) < 1:
                raise InvalidRequest(f"histogram {name} must be in [0, 1), "
                                     f"was: {getattr(self, name)}")
        if self.min_samples < 1 or self.forecast_min_samples < 1 or self.forecast_history < 1:
            raise InvalidRequest("histogram sample counts must be at least 1, was: "
                                 f"min_samples {self.min_samples}, forecast_min_samples "
                                 f"{self.forecast_min_samples}, history {self.forecast_history}")


class HybridKeepAlive:
    """One function's idle-time histogram and the plans it makes (a `KeepAlive`)."""

    def __init__(self, fallback: float, settings: HistogramSettings | None = None) -> None:
        if not fallback >= 0:
            raise ValueError(f"fallback keep_alive must be >= 0 s, was: {fallback}")
        self.fallback = fallback
        self.settings = s = settings or HistogramSettings()
        self._n = n = max(1, round(s.range / s.bin_width))
        self._counts = [0] * n
        self._tree = [0] * (n + 1)  # Fenwick tree: percentiles in O(log bins) per plan
        self._step = 1 << (n.bit_length() - 1)
        self._inside = 0
        self._outside = 0
        self._squares = 0  # sum of squared bin counts, for the coefficient of variation
        self._recent: deque[float] = deque(maxlen=s.forecast_history)
        self._idle_since: float | None = None

    @property
    def samples(self) -> int:
        """Idle times seen, in bounds and out."""
        return self._inside + self._outside

    @property
    def out_of_bounds(self) -> int:
        return self._outside

    @property
    def cv(self) -> float:
        """Coefficient of variation of the bin counts (0 with no in-bound idle time)."""
        n, inside = self._n, self._inside
        if inside == 0 or n < 2:
            return 0.0
        variance = (self._squares - inside * inside / n) / (n - 1)
        return math.sqrt(max(0.0, variance)) / (inside / n)

    def on_invocation(self, now: float) -> None:
        if self._idle_since is not None:
            self.observe(max(0.0, now - self._idle_since))
            self._idle_since = None

    def on_idle_start(self, now: float) -> IdlePlan:
        self._idle_since = now
        return self.plan(now)

    def observe(self, idle: float) -> None:
        """Add one idle time, in seconds."""
        self._recent.append(idle)
        b = int(idle // self.settings.bin_width)
        if b >= self._n:
            self._outside += 1
            return
        count = self._counts[b]
        self._counts[b] = count + 1
        self._squares += 2 * count + 1
        self._inside += 1
        tree, i, n = self._tree, b + 1, self._n
        while i <= n:
            tree[i] += 1
            i += i & -i

    def plan(self, since: float) -> IdlePlan:
        """The plan for an idle period starting at `since`, from what has been seen so far."""
        s = self.settings
        total = self._inside + self._outside
        if total and self._outside >= s.oob_threshold * total:
            if total < s.forecast_min_samples:
                return self._fixed(since, "fixed: learning (out of bounds)")
            return self._forecast(since)
        if self._inside < s.min_samples:
            return self._fixed(since, "fixed: learning")
        cv = self.cv
        if cv < s.cv_threshold or cv < s.noise_factor * math.sqrt(self._n / self._inside):
            return self._fixed(since, "fixed: histogram too flat")
        width = s.bin_width
        prewarm = self._percentile_bin(s.head) * width * (1 - s.margin)
        until = (self._percentile_bin(s.tail) + 1) * width * (1 + s.margin)
        if prewarm <= 0:
            return IdlePlan(since, since + until, reason="histogram: keep")
        return IdlePlan(since, since, since + prewarm, since + until,
                        reason="histogram: pre-warm")

    def _fixed(self, since: float, reason: str) -> IdlePlan:
        return IdlePlan(since, since + self.fallback, reason=reason)

    def _forecast(self, since: float) -> IdlePlan:
        ordered = sorted(self._recent)
        mid = len(ordered) // 2
        guess = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        margin = self.settings.forecast_margin
        prewarm, until = guess * (1 - margin), guess * (1 + margin)
        agree = sum(1 for idle in ordered if prewarm <= idle <= until)
        if agree < max(self.settings.forecast_min_samples, len(ordered) - 1):
            return self._fixed(since, "fixed: idle times irregular")
        if prewarm <= 0:
            return IdlePlan(since, since + until, reason="forecast: keep")
        return IdlePlan(since, since, since + prewarm, since + until, reason="forecast: pre-warm")

    def _percentile_bin(self, fraction: float) -> int:
        """The first bin whose cumulative count reaches `fraction` of the in-bound ones."""
        rank = max(1, math.ceil(fraction * self._inside - 1e-9))
        tree, n = self._tree, self._n
        pos, step = 0, self._step
        while step:
            nxt = pos + step
            if nxt <= n and tree[nxt] < rank:
                pos = nxt
                rank -= tree[nxt]
            step >>= 1
        return pos
