"""The instances of one function version, the requests waiting for them, its template and
its autoscaler."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from yun.autoscaler import Policy, ScaleDecision, Scaler
from yun.node._instance import Instance
from yun.sandbox import SandboxTemplate, TemplateSpec

# A version whose import takes less CPU than this starts its first instance from a blank that
# serves (see `VersionPool.serve_from_blank`): its scale-out, if any, pays the import again,
# a few ms; a heavier import is done once, in a template that forks every instance.
LIGHT_IMPORT_CPU_MS = 10.0


@dataclass(eq=False, slots=True)  # identity: removal from the deque must compare nothing else
class Waiter:
    """A request waiting for a slot. `assigned` hears, once, the instance and the cold-start
    time it waited for, or the error that ended the wait."""

    assigned: Callable[[tuple[Instance, float] | Exception], None]
    since: float  # time.monotonic() at arrival
    deadline: float  # on the event loop's clock: the node agent ends the wait then
    max_wait: float
    done: bool = False

    def settle(self, outcome: tuple[Instance, float] | Exception) -> bool:
        """Hand `outcome` to the request; False if it was settled (or withdrawn) before."""
        if self.done:
            return False
        self.done = True
        self.assigned(outcome)
        return True


class VersionPool:
    """Bookkeeping only; the node agent starts, stops and assigns.

    The demand (in flight + waiting) is recorded into the `scaler` at every change the
    agent makes, so its windows hold the exact time-weighted load however short the calls.
    """

    def __init__(self, key: str, spec: TemplateSpec, policy: Policy, concurrency: int) -> None:
        self.key = key
        self.spec = spec
        self.policy = policy
        self.concurrency = concurrency
        # `scale.min` is the agent's to apply: only the version traffic is routed to keeps it.
        self.scaler = Scaler(dataclasses.replace(policy, min=0))
        self.decision: ScaleDecision | None = None  # the last tick's, for `yun top`
        self.template: SandboxTemplate | None = None
        self.template_start: asyncio.Future[SandboxTemplate] | None = None
        self.instances: dict[str, Instance] = {}
        self.starting = 0
        self.waiters: deque[Waiter] = deque()
        self.pinned = False  # keep `policy.min` warm (the version traffic is routed to)
        self.by_pid: dict[int, Instance] = {}
        self.cold_starts = 0
        self.served = 0
        # Told when an instance of this pool turns CPU-bound and back (set by the node agent).
        self.on_cpu_bound: Callable[[bool], None] | None = None
        self.inflight = 0  # a count, not a sum over instances: it is read at every call
        self.start_failed_at: float | None = None  # when the last start failed, if it did
        self.import_cpu_ms: float | None = None  # CPU of the handler's import, last measured
        # The node agent's timer for the earliest waiter's deadline, and that deadline.
        self.wait_timer: asyncio.TimerHandle | None = None
        self.wait_deadline = 0.0
        self._sample_due = False
        self._loop: asyncio.AbstractEventLoop | None = None  # `get_running_loop()` is a getpid()

    @property
    def demand(self) -> int:
        return self.inflight + len(self.waiters)

    def sample(self, now: float) -> None:
        """Record the demand from `now` on (a monotonic time no earlier than the last)."""
        self.scaler.record(now, self.demand)

    def changed(self) -> None:
        """The demand changed: it is recorded once, at the end of this pass of the event
        loop. Under load a pass starts and ends dozens of calls; recording after each cost
        more than the calls' own bookkeeping, and the windows (seconds wide) cannot tell
        the difference."""
        if not self._sample_due:
            self._sample_due = True
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._sample_now)

    def _sample_now(self) -> None:
        self._sample_due = False
        self.scaler.record(time.monotonic(), self.demand)

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
        self.inflight += 1

    def release(self, instance: Instance) -> None:
        instance.inflight -= 1
        self.inflight -= 1
        instance.served += 1
        self.served += 1
        if instance.inflight == 0:
            instance.idle_since = time.monotonic()

    def dispatch(self, freed: Instance | None = None) -> None:
        """Hand free slots to waiting requests, oldest first. `freed`: the instance whose
        call just ended. While requests wait no other slot is free, so only its own is
        handed on (without looking at every instance)."""
        if freed is not None and freed.alive and freed.inflight < self.concurrency:
            while self.waiters:
                waiter = self.waiters.popleft()
                if not waiter.done:
                    self._hand(freed, waiter)
                    return
            return
        while self.waiters:
            instance = self.free_instance()
            if instance is None:
                return
            waiter = self.waiters.popleft()
            if not waiter.done:
                self._hand(instance, waiter)

    def _hand(self, instance: Instance, waiter: Waiter) -> None:
        self.assign(instance)
        waiter.settle((instance, instance.init_ms if instance.created_at >= waiter.since
                       else 0.0))

    def serve_from_blank(self) -> bool:
        """Whether the instance starting now is to be the blank it is given, serving, rather
        than a fork of a template made from it.

        Only when it is all the version has or is getting (no instance, no template, no
        other start) and its import is light (or not measured yet): a blank that serves
        saves the fork and two cgroups (≈ 2.4 ms of CPU), but the version's template, if it
        scales out after all, then costs one more import. Under a burst, or with a heavy
        import, a template to fork every instance from is the cheaper way.
        """
        return (not self.instances and self.starting == 1 and self.template is None
                and self.template_start is None
                and (self.import_cpu_ms is None or self.import_cpu_ms < LIGHT_IMPORT_CPU_MS))

    def idle_longest_first(self) -> list[Instance]:
        idle = [i for i in self.instances.values() if i.idle_since is not None]
        return sorted(idle, key=lambda i: i.idle_since or 0.0)

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
    desired: int  # the autoscaler's last decision, and why
    mode: str
    reason: str

    def view(self) -> dict[str, object]:
        tenant, _, rest = self.key.partition("/")
        function, _, version = rest.rpartition("@")
        return {"tenant": tenant, "function": function, "version": int(version),
                "instances": self.instances, "starting": self.starting,
                "inflight": self.inflight, "waiting": self.waiting,
                "cold_starts": self.cold_starts, "served": self.served,
                "memory_mb": round(self.memory_mb, 1), "template": self.template,
                "desired": self.desired, "mode": self.mode, "reason": self.reason}


def status(pool: VersionPool) -> PoolStatus:
    decision = pool.decision
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
        desired=decision.desired if decision is not None else 0,
        mode=decision.mode if decision is not None else "stable",
        reason=decision.reason if decision is not None else "",
    )
