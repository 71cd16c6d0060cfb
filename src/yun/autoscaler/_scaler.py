"""One function version's scaling: the KPA for load, a keep-alive policy for idleness.

The two compose by taking the larger: the KPA never lets an instance go inside its stable
window and scale-to-zero grace (a pause in a burst keeps the burst's instances), and the
keep-alive plan keeps one instance longer than that, or brings one back to pre-warm. While
requests are in flight, never fewer instances than they fill at full `target`.
"""

from __future__ import annotations

import math

from yun.autoscaler._hybrid import HistogramSettings, HybridKeepAlive
from yun.autoscaler._keepalive import FixedKeepAlive, IdlePlan, KeepAlive
from yun.autoscaler._kpa import Autoscaler, ScaleDecision
from yun.autoscaler._policy import Policy


def keep_alive_for(policy: Policy, histogram: HistogramSettings | None = None) -> KeepAlive:
    """The keep-alive policy `policy.keep_alive_policy` names; `keep_alive` is its fallback."""
    if policy.keep_alive_policy == "hybrid":
        if histogram is None and policy.histogram_range is not None:
            histogram = HistogramSettings(range=policy.histogram_range)
        return HybridKeepAlive(policy.keep_alive, histogram)
    return FixedKeepAlive(policy.keep_alive)


class Scaler:
    """Feed it the load on every change; ask it how many instances, once per tick.

    `record(now, value)`: the function's demand (in-flight + waiting requests; requests/s for
    metric "rps") from `now` on. Its changes between zero and non-zero are the arrivals and
    idle starts the keep-alive policy learns from, so record at every arrival and completion
    (recording each tick as well is harmless). `desired(now, ready)`: the decision.
    """

    def __init__(self, policy: Policy, histogram: HistogramSettings | None = None,
                 bucket: float = 1.0) -> None:
        self.policy = policy
        self.autoscaler = Autoscaler(policy, bucket)
        self.keep_alive = keep_alive_for(policy, histogram)
        self.plan: IdlePlan | None = None  # while idle after having been busy
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def filled(self) -> int:
        """Instances the demand recorded last fills at full `target`, up to `max`.

        What to start at once when requests wait: the windows have seen none of a burst at
        its first instant.
        """
        return self.fills(self.autoscaler.level)

    def fills(self, demand: float) -> int:
        """Instances `demand` fills at full `target`, up to `max`."""
        policy = self.policy
        return min(policy.max, math.ceil(demand / policy.target - 1e-9))

    def record(self, now: float, value: float) -> None:
        self.autoscaler.record(now, value)
        if value > 0:
            if not self._busy:
                self._busy = True
                self.plan = None
                self.keep_alive.on_invocation(now)
        elif self._busy:
            self._busy = False
            self.plan = self.keep_alive.on_idle_start(now)

    def desired(self, now: float, ready: int) -> ScaleDecision:
        decision = self.autoscaler.desired(now, ready)
        if self._busy:
            filled = self.filled
            if decision.desired < filled:
                return decision._replace(desired=filled, reason="in flight")
            return decision
        plan = self.plan
        if decision.desired > 0 or plan is None or not plan.keeps(now):
            return decision
        reason = "pre-warm" if now >= plan.unload_at else "keep-alive"
        return decision._replace(desired=1, reason=f"{reason} ({plan.reason})")
