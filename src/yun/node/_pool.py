"""The instances of one function version, the requests waiting for them, and its template."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from yun.autoscaler import InstanceView, Policy
from yun.node._instance import Instance
from yun.sandbox import Template, TemplateSpec


@dataclass(eq=False)  # identity: removal from the deque must not compare futures
class Waiter:
    future: asyncio.Future[tuple[Instance, float]]
    since: float = field(default_factory=time.monotonic)


class VersionPool:
    """Bookkeeping only; the node agent starts, stops and assigns."""

    def __init__(self, key: str, spec: TemplateSpec, policy: Policy, concurrency: int) -> None:
        self.key = key
        self.spec = spec
        self.policy = policy
        self.concurrency = concurrency
        self.template: Template | None = None
        self.template_start: asyncio.Future[Template] | None = None
        self.instances: dict[str, Instance] = {}
        self.starting = 0
        self.waiters: deque[Waiter] = deque()
        self.pinned = False  # keep `policy.min` warm (the version traffic is routed to)
        self.by_pid: dict[int, Instance] = {}
        self.cold_starts = 0
        self.served = 0

    @property
    def inflight(self) -> int:
        return sum(i.inflight for i in self.instances.values())

    @property
    def demand(self) -> int:
        return self.inflight + len(self.waiters)

    def free_instance(self) -> Instance | None:
        best: Instance | None = None
        for instance in self.instances.values():
            if instance.alive and instance.inflight < self.concurrency and (
                best is None or instance.inflight < best.inflight
            ):
                best = instance
        return best

    def assign(self, instance: Instance) -> None:
        instance.inflight += 1
        instance.idle_since = None

    def release(self, instance: Instance) -> None:
        instance.inflight -= 1
        instance.served += 1
        self.served += 1
        if instance.inflight == 0:
            instance.idle_since = time.monotonic()

    def dispatch(self) -> None:
        """Hand free slots to waiting requests, oldest first."""
        while self.waiters:
            instance = self.free_instance()
            if instance is None:
                return
            waiter = self.waiters.popleft()
            if waiter.future.done():
                continue
            self.assign(instance)
            init_ms = instance.init_ms if instance.created_at >= waiter.since else 0.0
            waiter.future.set_result((instance, init_ms))

    def views(self) -> list[InstanceView]:
        return [InstanceView(i.id, i.inflight, i.idle_since) for i in self.instances.values()]

    def is_idle(self) -> bool:
        return not self.instances and not self.starting and not self.waiters


@dataclass(frozen=True)
class PoolStatus:
    """One version's pool as `yun top` shows it."""

    key: str
    instances: int
    starting: int
    inflight: int
    waiting: int
    cold_starts: int
    served: int
    memory_mb: float
    template: bool

    def view(self) -> dict[str, object]:
        tenant, _, rest = self.key.partition("/")
        function, _, version = rest.rpartition("@")
        return {"tenant": tenant, "function": function, "version": int(version),
                "instances": self.instances, "starting": self.starting,
                "inflight": self.inflight, "waiting": self.waiting,
                "cold_starts": self.cold_starts, "served": self.served,
                "memory_mb": round(self.memory_mb, 1), "template": self.template}


def status(pool: VersionPool) -> PoolStatus:
    groups = [i.cgroup for i in pool.instances.values()]
    if pool.template is not None:
        groups.append(pool.template.group)
    return PoolStatus(
        key=pool.key,
        instances=len(pool.instances),
        starting=pool.starting,
        inflight=pool.inflight,
        waiting=len(pool.waiters),
        cold_starts=pool.cold_starts,
        served=pool.served,
        memory_mb=sum(g.memory_bytes() for g in groups) / (1 << 20),
        template=pool.template is not None and pool.template.alive,
    )
