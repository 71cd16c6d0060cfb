"""The Knative-KPA-style autoscaler: instances wanted from load averaged over two windows.

Knative's `Scale(now)` in pure Python: the stable window's mean decides, unless the panic
window's mean wants at least `panic_threshold` x the ready instances; then the larger of the
two decides and nothing scales down until the panic window has been calm for a whole stable
window. Rates bound each step, a delay window holds higher counts, a grace period guards the
last instance. Fed with samples and `now`; it never reads a clock.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal, NamedTuple

from yun.autoscaler._policy import Policy
from yun.autoscaler._window import Window

Mode = Literal["stable", "panic"]


class ScaleDecision(NamedTuple):
    """How many instances one function version should have, and why (for `yun top`).

    Immutable; a NamedTuple rather than a frozen dataclass because a replay makes millions
    and a frozen dataclass is three times slower to build.
    """

    desired: int
    ready: int  # instances ready when it was decided
    mode: Mode
    stable_average: float  # load over the stable window (the policy's metric)
    panic_average: float  # load over the panic window
    stable_desired: int  # stable_average / (target x utilisation), rounded up, unbounded
    panic_desired: int
    by_load: int  # what the load alone asks for; `desired` may add keep-alive instances
    reason: str  # what set `desired`: "stable window", "max scale-down rate", "keep-alive", ...


class Autoscaler:
    """One function version's KPA state. Feed it samples; ask it once per tick.

    `record(now, value)` sets the load (in-flight requests, or requests/s for metric "rps")
    until the next record; `desired(now, ready)` decides and advances the panic, delay and
    grace state, so call it with a non-decreasing `now`, once per tick.
    """

    def __init__(self, policy: Policy, bucket: float = 1.0) -> None:
        self.policy = policy
        self._window = Window(policy.stable_window, policy.panic_window, bucket)
        self._per_instance = policy.instance_target
        self._panic_since: float | None = None  # last time the panic window was over threshold
        self._panic_peak = 0  # no scale-down below this while panicking
        self._zero_since: float | None = None  # since when the load has asked for zero
        self._held: deque[tuple[float, int]] = deque()  # decreasing counts in the delay window

    @property
    def level(self) -> float:
        """The last recorded load."""
        return self._window.level

    @property
    def panicking(self) -> bool:
        return self._panic_since is not None

    def record(self, now: float, value: float) -> None:
        self._window.record(now, value)

    def desired(self, now: float, ready: int) -> ScaleDecision:
        if ready < 0:
            raise ValueError(f"ready instances must be >= 0, was: {ready}")
        policy = self.policy
        stable, panic = self._window.means(now)
        stable_wanted = _ceil(stable / self._per_instance)
        panic_wanted = _ceil(panic / self._per_instance)
        # Knative counts zero ready instances as one, so a first burst can still panic and
        # the up-rate is not zero.
        base = ready if ready > 1 else 1
        up = math.ceil(policy.max_scale_up_rate * base)
        down = math.floor(base / policy.max_scale_down_rate)

        # Unrounded, as Knative compares it: one request at one instance aimed at 70 % wants
        # 1.43 (rounded: 2) instances, which is no burst.
        if panic / self._per_instance >= policy.panic_threshold * base:
            self._panic_since = now  # enter panic, or stay: its stable window restarts
        elif self._panic_since is not None and now - self._panic_since > policy.stable_window:
            self._panic_since = None
            self._panic_peak = 0

        mode: Mode
        if self._panic_since is None:
            mode = "stable"
            count, reason = _bounded(stable_wanted, down, up, "stable window")
        else:
            mode = "panic"
            count, reason = _bounded(max(stable_wanted, panic_wanted), down, up,
                                     "panic window" if panic_wanted > stable_wanted
                                     else "stable window")
            if count >= self._panic_peak:
                self._panic_peak = count
            else:
                count, reason = self._panic_peak, "panic: no scale-down"

        if policy.scale_down_delay > 0:
            count, reason = self._delayed(now, count, reason)
        if count > 0:
            self._zero_since = None
        else:
            count, reason = self._graced(now, ready, reason)
        if count > policy.max:
            count, reason = policy.max, "max"
        elif count < policy.min:
            count, reason = policy.min, "min"
        return ScaleDecision(count, ready, mode, stable, panic, stable_wanted, panic_wanted,
                             count, reason)

    def _delayed(self, now: float, count: int, reason: str) -> tuple[int, str]:
        """The highest count of the last `scale_down_delay` seconds (Knative's delay window)."""
        delay = self.policy.scale_down_delay
        held = self._held
        while held and held[-1][1] <= count:
            held.pop()
        held.append((now, count))
        while held[0][0] <= now - delay:
            held.popleft()
        if held[0][1] > count:
            return held[0][1], "scale-down delay"
        return count, reason

    def _graced(self, now: float, ready: int, reason: str) -> tuple[int, str]:
        """Keep the last instance until the load has asked for zero for the grace period."""
        if self._zero_since is None:
            self._zero_since = now
        if ready > 0 and now - self._zero_since < self.policy.scale_to_zero_grace:
            return 1, "scale-to-zero grace"
        return 0, reason


def _bounded(wanted: int, down: int, up: int, reason: str) -> tuple[int, str]:
    if wanted > up:
        return up, "max scale-up rate"
    if wanted < down:
        return down, "max scale-down rate"
    return wanted, reason


def _ceil(x: float) -> int:
    # The windows' means carry float residue (0.7 / 0.7 may be 1.0000000000000002).
    return math.ceil(x - 1e-9) if x > 1e-9 else 0
