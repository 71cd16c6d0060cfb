"""One function version's scaling policy: a typed value, validated when it is made.

The first four fields are the manifest's `scale` section; the rest are Knative KPA knobs with
Knative's defaults (stable window 60 s, panic window 10 % of it, panic at 200 % of capacity,
scale up at most 1000x and down at most 2x per decision, target utilisation 70 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from yun.core import InvalidRequest
from yun.core.types import ScaleSpec

Metric = Literal["concurrency", "rps"]
KeepAliveKind = Literal["fixed", "hybrid"]

_METRICS = ("concurrency", "rps")
_KEEP_ALIVE_KINDS = ("fixed", "hybrid")


@dataclass(frozen=True, slots=True)
class Policy:
    min: int = 0
    max: int = 10
    target: float = 1.0  # in-flight requests (metric "rps": requests/s) per instance
    keep_alive: float = 600.0  # seconds an idle instance is kept (the fixed keep-alive policy)
    target_utilization: float = 0.7  # aim each instance at this fraction of `target`
    metric: Metric = "concurrency"
    stable_window: float = 60.0  # seconds averaged for ordinary decisions
    panic_window: float = 6.0  # seconds averaged to notice a burst
    panic_threshold: float = 2.0  # panic when the panic window wants this many x the ready ones
    max_scale_up_rate: float = 1000.0  # at most this many x the ready instances per decision
    max_scale_down_rate: float = 2.0  # at least 1/this of the ready instances stay per decision
    scale_down_delay: float = 0.0  # seconds a higher count is held before scaling down to it
    scale_to_zero_grace: float = 30.0  # seconds at "zero wanted" before the last one goes
    keep_alive_policy: KeepAliveKind = "fixed"
    histogram_range: float | None = None  # hybrid: idle times beyond are out of bounds; 4 h

    def __post_init__(self) -> None:
        # The manifest already checks min/max/target/keep_alive; a Policy built in code gets
        # the same checks so a bad value fails here, not as a ZeroDivisionError on a tick.
        if self.min < 0 or self.max < 1 or self.min > self.max:
            raise InvalidRequest(
                f"scale.min must be 0..max and scale.max at least 1, was: min {self.min}, "
                f"max {self.max}")
        _positive("target", self.target)
        _at_least("keep_alive", self.keep_alive, 0.0)
        if not 0 < self.target_utilization <= 1:
            raise InvalidRequest(
                f"scale.target_utilization must be in (0, 1], was: {self.target_utilization}")
        if self.metric not in _METRICS:
            raise InvalidRequest(f"scale.metric must be one of {', '.join(_METRICS)}, "
                                 f"was: {self.metric!r}")
        if self.keep_alive_policy not in _KEEP_ALIVE_KINDS:
            raise InvalidRequest(
                f"scale.keep_alive_policy must be one of {', '.join(_KEEP_ALIVE_KINDS)}, "
                f"was: {self.keep_alive_policy!r}")
        _at_least("stable_window", self.stable_window, 1.0)
        if not 1.0 <= self.panic_window <= self.stable_window:
            raise InvalidRequest(
                f"scale.panic_window must be 1 s..stable_window ({self.stable_window:g} s), "
                f"was: {self.panic_window}")
        _above("panic_threshold", self.panic_threshold, 1.0)
        _above("max_scale_up_rate", self.max_scale_up_rate, 1.0)
        _above("max_scale_down_rate", self.max_scale_down_rate, 1.0)
        _at_least("scale_down_delay", self.scale_down_delay, 0.0)
        _at_least("scale_to_zero_grace", self.scale_to_zero_grace, 0.0)

    @property
    def instance_target(self) -> float:
        """Load one instance is aimed at: `target` x `target_utilization`."""
        return self.target * self.target_utilization


def function_policy(scale: ScaleSpec) -> Policy:
    """The node's policy for a function's `scale` section.

    The stable window is `scale.window`, or by default `keep_alive` clamped to 6..60 s, so a
    function kept 2 s after its last call is not held for Knative's 60 s window (its instances
    go after 6 s) while one kept 10 min gets Knative's defaults. The panic window is a tenth
    of it (at least 1 s). Knative's scale-to-zero grace is not used: it exists to move the
    activator into the request path, which here is always there, and the keep-alive policy
    already decides when the last instance goes. `target_utilization` defaults to 1, not
    Knative's 0.7: that headroom hides a pod's seconds-long start, and a Yun instance is one
    fork, so the headroom would mostly hold idle memory (one call would keep two instances).
    """
    window = scale.window if scale.window is not None else min(60.0, max(6.0, scale.keep_alive))
    return Policy(min=scale.min, max=scale.max, target=scale.target, keep_alive=scale.keep_alive,
                  keep_alive_policy=scale.keep_alive_policy, stable_window=window,
                  target_utilization=scale.target_utilization,
                  histogram_range=scale.histogram_range,
                  panic_window=max(1.0, window / 10), scale_to_zero_grace=0.0)


def _positive(name: str, value: float) -> None:
    if not 0 < value < math.inf:
        raise InvalidRequest(f"scale.{name} must be a number > 0, was: {value}")


def _above(name: str, value: float, low: float) -> None:
    if not low < value < math.inf:
        raise InvalidRequest(f"scale.{name} must be a number > {low:g}, was: {value}")


def _at_least(name: str, value: float, low: float) -> None:
    if not low <= value < math.inf:
        raise InvalidRequest(f"scale.{name} must be a number >= {low:g}, was: {value}")
