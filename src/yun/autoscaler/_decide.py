"""Concurrency-based scaling decisions: pure functions of load, policy and the clock.

The node agent feeds the in-flight count of each function version and what its instances
are doing; the decisions say how many instances should exist and which idle ones to reap.
This is the first, windowless decider; `Scaler` (KPA windows + keep-alive policies) is its
successor and leaves these functions' behaviour unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from yun.autoscaler._policy import Policy


@dataclass(frozen=True, slots=True)
class InstanceView:
    id: str
    inflight: int
    idle_since: float | None  # monotonic seconds; None while busy


@dataclass(frozen=True, slots=True)
class Decision:
    desired: int
    reap: tuple[str, ...]


def desired_instances(demand: float, policy: Policy) -> int:
    """Instances needed to serve `demand` in-flight requests at `target` each, clamped."""
    wanted = math.ceil(demand / policy.target - 1e-9) if demand > 0 else 0
    return max(policy.min, min(policy.max, wanted))


def decide(instances: Sequence[InstanceView], demand: float, policy: Policy,
           now: float) -> Decision:
    """Which idle instances to reap now, never going below what demand and `min` need.

    Instances idle longest are reaped first; an instance is a candidate only once it has been
    idle for `keep_alive`.
    """
    desired = desired_instances(demand, policy)
    keep = max(desired, policy.min)
    expired = sorted(
        (i for i in instances
         if i.inflight == 0 and i.idle_since is not None
         and now - i.idle_since >= policy.keep_alive),
        key=lambda i: i.idle_since or 0.0,
    )
    spare = max(0, len(instances) - keep)
    return Decision(desired=desired, reap=tuple(i.id for i in expired[:spare]))
