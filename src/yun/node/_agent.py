"""The node agent: runs function instances on this machine and serves invocations on them.

Requests for a version with no free instance wait in a bounded buffer (the activator) while
instances start. Each version's `Scaler` hears its demand at every change; a waiting request
starts the instances the demand fills at once, and each tick starts up to the autoscaler's
count (panic headroom, pre-warming, `scale.min`) and reaps idle instances beyond it. Every
wait has a deadline and every buffer a size.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import time
from collections import deque
from collections.abc import Callable

from yun.autoscaler import Policy
from yun.core import Overloaded, PlatformError, Status
from yun.core.errors import RateLimited
from yun.node._host import HostHandler, HostRequest
from yun.node._instance import Instance, InstanceGone
from yun.node._memory import Admission
from yun.node._outcome import Outcome, bad_response, throttled
from yun.node._pool import LIGHT_IMPORT_CPU_MS, PoolStatus, VersionPool, Waiter, status
from yun.protocol import Invoke, Result
from yun.sandbox import (
    InitError,
    ProcessSandbox,
    SandboxTemplate,
    TemplateSpec,
    discard_cgroup,
)

START_RETRY_SECONDS = 5.0  # the tick's pause after a failed instance start
_CLOCK_SLACK = 0.001  # s: uvloop's timers are in whole milliseconds

# (tenant, memory_mb, running instances, running memory MiB) → a refusal, or None to allow
InstanceQuota = Callable[[str, int, int, int], "RateLimited | None"]


class NodeAgent:
    def __init__(self, sandbox: ProcessSandbox, queue_depth: int = 100,
                 tick_seconds: float = 0.5, admission: Admission | None = None,
                 instance_quota: InstanceQuota | None = None,
                 host: HostHandler | None = None) -> None:
        self.sandbox = sandbox
        self.host = host  # answers instances' host calls; without it they are refused
        self.admission = admission or Admission()
        self.instance_quota = instance_quota
        self.queue_depth = queue_depth
        self.tick_seconds = tick_seconds
        self.pools: dict[str, VersionPool] = {}
        self._ids = itertools.count(1)
        self._prefix = os.urandom(2).hex()
        self._tasks: asyncio.TaskGroup | None = None
        self._stopping = asyncio.Event()
        self._cpu_bound: dict[str, int] = {}  # per tenant: its instances that are CPU-bound
        self._loop: asyncio.AbstractEventLoop | None = None  # `get_running_loop()` is a getpid()

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, ready: Callable[[], None] | None = None) -> None:
        """Own every instance task until `stop()`; the autoscaler ticks in here."""
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            blanks = tasks.create_task(self.sandbox.keep_blanks())
            if ready is not None:
                ready()
            while not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.tick_seconds)
                self.tick(time.monotonic())
            blanks.cancel()
            self._shutdown_instances()
        self._tasks = None

    def stop(self) -> None:
        self._stopping.set()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        self._loop = asyncio.get_running_loop()
        return self._loop

    def _shutdown_instances(self) -> None:
        for pool in self.pools.values():
            self._fail_waiters(pool, Overloaded("the node is shutting down", 1.0))
            for instance in list(pool.instances.values()):
                instance.reap()
            self._close_template(pool)

    # -- invocation --------------------------------------------------------------------------

    def pool(self, key: str, spec: TemplateSpec, policy: Policy, concurrency: int) -> VersionPool:
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = VersionPool(key, spec, policy, concurrency)
            pool.on_cpu_bound = functools.partial(self._cpu_bound_changed, spec.tenant)
        return pool

    async def invoke(self, pool: VersionPool, invoke: Invoke, body: bytes,
                     timeout: float, max_wait: float) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        waiter = self.call(pool, invoke, body, timeout, max_wait,
                           functools.partial(_settle, future))
        try:
            return await future
        except asyncio.CancelledError:
            if waiter is not None:
                self._withdraw(pool, waiter)
            raise

    def call(self, pool: VersionPool, invoke: Invoke, body: bytes, timeout: float,
             max_wait: float, done: Callable[[Outcome], None]) -> Waiter | None:
        """Run one invocation on an instance of `pool`: at once on a free slot, else after
        waiting in the activator buffer (at most `max_wait` s); `done` hears its Outcome,
        once. Callbacks, not coroutines or futures: every invocation takes this path, and
        half of them wait at 64 connections. Returns the request's place in the buffer (to
        `_withdraw` it), or None if it did not wait."""
        arrived = time.perf_counter()
        if not pool.waiters:
            instance = pool.free_instance()
            if instance is not None:
                pool.assign(instance)
                pool.changed()
                self._send(pool, instance, 0.0, arrived, invoke, body, timeout, done)
                return None
        if len(pool.waiters) >= self.queue_depth:
            done(_refused(Overloaded(
                f"function {pool.key} has {len(pool.waiters)} requests waiting for an instance "
                f"(the limit is {self.queue_depth})", retry_after=1.0)))
            return None
        loop = self._loop or self._running_loop()
        waiter = Waiter(functools.partial(self._waited, pool, arrived, invoke, body, timeout,
                                          done), time.monotonic(), loop.time() + max_wait, max_wait)
        pool.waiters.append(waiter)
        if pool.wait_timer is None or waiter.deadline < pool.wait_deadline:
            self._arm_waits(pool, waiter.deadline)
        pool.changed()
        self._scale_up(pool)
        return waiter

    def _arm_waits(self, pool: VersionPool, deadline: float) -> None:
        """One timer per pool for its waiters' earliest deadline, not one per waiter: they
        wait in order, and a version's waiters share their `max_wait`."""
        if pool.wait_timer is not None:
            pool.wait_timer.cancel()
        pool.wait_deadline = deadline
        loop = self._loop or self._running_loop()
        pool.wait_timer = loop.call_at(deadline, self._expire_waits, pool)

    def _expire_waits(self, pool: VersionPool) -> None:
        """Settle every wait past its deadline with Overloaded; re-arm for the earliest left."""
        pool.wait_timer = None
        # A timer may fire a little before its time (the loop's clock resolution).
        now = asyncio.get_running_loop().time() + _CLOCK_SLACK
        for waiter in list(pool.waiters):
            if not waiter.done and waiter.deadline <= now:
                waiter.settle(Overloaded(f"no instance of {pool.key} became free within "
                                         f"{waiter.max_wait:g} s", retry_after=1.0))
        # From the waiters now, not the ones above: a settled wait's callback may have
        # armed the timer for a request that came meanwhile.
        earliest = min((w.deadline for w in pool.waiters if not w.done), default=None)
        if earliest is not None and (pool.wait_timer is None
                                     or earliest < pool.wait_deadline):
            self._arm_waits(pool, earliest)

    def _withdraw(self, pool: VersionPool, waiter: Waiter) -> None:
        """The caller gave up (its task was cancelled) while waiting: leave the buffer."""
        if waiter.done:
            return  # assigned: the call was sent and frees its slot when it answers
        waiter.done = True
        with contextlib.suppress(ValueError):
            pool.waiters.remove(waiter)
        pool.changed()

    def _waited(self, pool: VersionPool, arrived: float, invoke: Invoke, body: bytes,
                timeout: float, done: Callable[[Outcome], None],
                assigned: tuple[Instance, float] | Exception) -> None:
        if isinstance(assigned, Exception):
            # A timeout or a failed start ends the wait unserved: it must leave the buffer
            # too, or it would count as demand (and against queue_depth) until the next
            # dispatch. dispatch() already popped the ones it served.
            if any(w.done for w in pool.waiters):  # rare: errors only, the buffer is bounded
                pool.waiters = deque(w for w in pool.waiters if not w.done)
            pool.changed()
            done(_unstarted(assigned, arrived))
            return
        instance, init_ms = assigned
        self._send(pool, instance, init_ms, arrived, invoke, body, timeout, done)

    def _send(self, pool: VersionPool, instance: Instance, init_ms: float, arrived: float,
              invoke: Invoke, body: bytes, timeout: float,
              done: Callable[[Outcome], None]) -> None:
        started = time.perf_counter()
        instance.start_call(invoke, body, timeout, functools.partial(
            _answered, pool, instance, init_ms, (started - arrived) * 1000, started, done))

    def _cpu_bound_changed(self, tenant: str, bound: bool) -> None:
        """A tenant with a CPU-bound instance yields the CPU: its group turns idle with its
        first such instance and back with its last, so short calls of every other tenant (and
        the platform) preempt a spinning or forking instance at once instead of at the
        scheduler's next tick. Nothing changes while nobody else wants the core."""
        count = self._cpu_bound.get(tenant, 0) + (1 if bound else -1)
        if count > 0:
            self._cpu_bound[tenant] = count
        else:
            self._cpu_bound.pop(tenant, None)
        if count == (1 if bound else 0):  # the tenant's first such instance, or its last
            with contextlib.suppress(OSError):
                self.sandbox.cgroups.set_tenant_idle(tenant, bound)
                # ... and the platform goes first while any tenant is CPU-bound.
                if len(self._cpu_bound) == (1 if bound else 0):
                    self.sandbox.cgroups.put_platform_first(bound)

    # -- scaling -----------------------------------------------------------------------------

    def _scale_up(self, pool: VersionPool) -> None:
        """Start what the demand right now fills: the windows have not seen a new burst yet."""
        running = len(pool.instances) + pool.starting
        if running < pool.spec.max_instances:  # at the max (under load, mostly): none to start
            self._start(pool, pool.scaler.fills(pool.demand) - running)

    def _start(self, pool: VersionPool, count: int) -> None:
        for _ in range(count):
            if not self._start_instance(pool):
                return

    def _start_instance(self, pool: VersionPool) -> bool:
        if self._tasks is None:
            raise PlatformError("the node agent is not running")
        if self.pools.get(pool.key) is not pool:
            return False  # dropped: its instances would be nobody's to reap
        refusal = self._gate(pool)
        if refusal is not None:
            if not pool.instances and not pool.starting:
                # Nothing will free a slot for these requests: refuse now, not at max_wait.
                self._fail_waiters(pool, refusal)
            return False
        pool.starting += 1
        self._tasks.create_task(self._grow(pool))
        return True

    def _gate(self, pool: VersionPool) -> Overloaded | RateLimited | None:
        """The tenant's instance quotas first, then the machine's memory."""
        if self.instance_quota is not None:
            tenant = pool.key.partition("/")[0]
            pools = [p for k, p in self.pools.items() if k.startswith(f"{tenant}/")]
            running = sum(len(p.instances) + p.starting for p in pools)
            memory = sum((len(p.instances) + p.starting) * p.spec.memory_mb for p in pools)
            refusal = self.instance_quota(tenant, pool.spec.memory_mb, running, memory)
            if refusal is not None:
                return refusal
        reason = self.admission.admit(pool.spec.memory_mb)
        return Overloaded(reason, retry_after=5.0) if reason is not None else None

    def _fail_waiters(self, pool: VersionPool, error: Exception) -> None:
        if pool.wait_timer is not None:
            pool.wait_timer.cancel()
            pool.wait_timer = None
        waiters, pool.waiters = pool.waiters, deque()
        for waiter in waiters:
            waiter.settle(error)

    async def _grow(self, pool: VersionPool) -> None:
        started = time.perf_counter()
        instance_id = f"{pool.spec.key}.{self._prefix}{next(self._ids)}"
        try:
            # A version's only instance is served by a blank itself (no template, no fork);
            # the template is made when the version needs a second instance.
            sandboxed = (await self.sandbox.serve_first(pool.spec, instance_id)
                         if pool.serve_from_blank() else None)
            if sandboxed is None:
                template = await self._template(pool)
                sandboxed = await template.fork(instance_id)
        except (InitError, PlatformError, OSError) as exc:
            pool.starting -= 1
            pool.start_failed_at = time.monotonic()
            self.admission.started(pool.spec.memory_mb)
            error = exc if isinstance(exc, InitError | PlatformError) else PlatformError(str(exc))
            # Without an instance the waiters cannot be served: fail them now, not at timeout.
            if not pool.instances and not pool.starting:
                self._fail_waiters(pool, error)
            return
        self.admission.started(pool.spec.memory_mb)
        pool.start_failed_at = None
        if sandboxed.import_cpu_ms is not None:
            pool.import_cpu_ms = sandboxed.import_cpu_ms
        instance = Instance(sandboxed, pool.concurrency,
                            init_ms=(time.perf_counter() - started) * 1000,
                            created_at=time.monotonic(),
                            on_gone=lambda gone: self._forget(pool, gone),
                            on_cpu_bound=pool.on_cpu_bound)
        await instance.connect()
        pool.starting -= 1
        pool.instances[instance.id] = instance
        pool.by_pid[instance.pid] = instance
        pool.cold_starts += 1
        assert self._tasks is not None
        self._tasks.create_task(instance.serve())
        if self._stopping.is_set() or self.pools.get(pool.key) is not pool:
            # Started during shutdown, after `_shutdown_instances`, or for a pool dropped
            # meanwhile: nobody would reap it, and its serve task would keep the task group
            # (and `yun up`) from ever ending.
            instance.reap()
            return
        self._tasks.create_task(instance.serve_host(pool.key, self.host or _no_host))
        pool.dispatch()
        if (instance.pid == 1 and pool.import_cpu_ms is not None
                and pool.import_cpu_ms >= LIGHT_IMPORT_CPU_MS):
            # A blank served and found the import heavy: make the template now, so that the
            # version's scale-out is a fork, never a second heavy import on a request's path.
            self._tasks.create_task(self._prepare_template(pool))

    async def _prepare_template(self, pool: VersionPool) -> None:
        with contextlib.suppress(InitError, PlatformError, OSError):  # the next start retries
            await self._template(pool)

    async def _template(self, pool: VersionPool) -> SandboxTemplate:
        if pool.template is not None and pool.template.alive:
            return pool.template
        if pool.template_start is None:
            future: asyncio.Future[SandboxTemplate] = asyncio.get_running_loop().create_future()
            pool.template_start = future
            try:
                template = await self.sandbox.start_template(
                    pool.spec, lambda pid, code: _on_exit(pool, pid, code))
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: the waiters below re-raise it
                raise
            finally:
                pool.template_start = None
            pool.template = template
            future.set_result(template)
            return template
        return await asyncio.shield(pool.template_start)

    def _forget(self, pool: VersionPool, instance: Instance) -> None:
        pool.instances.pop(instance.id, None)
        pool.by_pid.pop(instance.pid, None)
        discard_cgroup(instance.cgroup)
        if pool.waiters and self.pools.get(pool.key) is pool:
            self._scale_up(pool)

    def tick(self, now: float) -> None:
        """Start up to each version's autoscaled count, reap idle instances beyond it, keep
        `scale.min` of the pinned version, drop idle templates."""
        for pool in self.pools.values():
            pool.sample(now)
            decision = pool.scaler.desired(now, len(pool.instances))
            if pool.pinned and decision.desired < pool.policy.min:
                decision = decision._replace(desired=pool.policy.min, reason="min")
            pool.decision = decision
            surplus = len(pool.instances) + pool.starting - decision.desired
            if surplus < 0:
                # A handler that cannot load is not retried every tick: requests still start
                # instances at once, the tick only after a pause.
                failed = pool.start_failed_at
                if failed is None or now - failed >= START_RETRY_SECONDS:
                    self._start(pool, -surplus)
            elif surplus > 0:
                for instance in pool.idle_longest_first()[:surplus]:
                    instance.reap()
            if pool.is_idle() and pool.template is not None:
                self._close_template(pool)

    def _close_template(self, pool: VersionPool) -> None:
        if pool.template is not None:
            pool.template.close()
            pool.template = None

    def drop(self, key_prefix: str) -> None:
        """Stop every instance of the versions whose key starts with `key_prefix`, and refuse
        the requests waiting for one (nothing starts for a dropped pool any more)."""
        for key in [k for k in self.pools if k.startswith(key_prefix)]:
            pool = self.pools.pop(key)
            self._fail_waiters(pool, Overloaded(
                f"function {key} was removed (or its tenant disabled) while this request "
                "waited for an instance", retry_after=1.0))
            for instance in list(pool.instances.values()):
                instance.reap()
            self._close_template(pool)

    def status(self, tenant: str) -> list[PoolStatus]:
        """The pools of one tenant, for `yun top`."""
        prefix = f"{tenant}/"
        return [status(pool) for key, pool in sorted(self.pools.items())
                if key.startswith(prefix)]


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


def _unstarted(exc: Exception, arrived: float) -> Outcome:
    """The outcome of a request that never reached an instance."""
    wait_ms = (time.perf_counter() - arrived) * 1000
    if isinstance(exc, Overloaded | RateLimited):
        return _refused(exc)
    if isinstance(exc, InitError):
        return Outcome(status=Status.ERROR, status_code=500, error_type=exc.error_type,
                       error_message=f"the handler could not be loaded: {exc.message}",
                       traceback=exc.traceback, wait_ms=wait_ms)
    message = exc.message if isinstance(exc, PlatformError) else str(exc)
    return Outcome(status=Status.CRASHED, status_code=502, error_type="PlatformError",
                   error_message=message, wait_ms=wait_ms)


def _answered(pool: VersionPool, instance: Instance, init_ms: float, wait_ms: float,
              started: float, done: Callable[[Outcome], None],
              reply: tuple[Result, bytes] | InstanceGone) -> None:
    pool.release(instance)
    pool.dispatch(instance)
    pool.changed()
    duration_ms = (time.perf_counter() - started) * 1000
    if isinstance(reply, InstanceGone):
        done(Outcome(
            status=reply.status, status_code=_GONE_STATUS[reply.status],
            error_type=reply.status.value, error_message=reply.message, init_ms=init_ms,
            wait_ms=wait_ms, instance=instance.id, duration_ms=duration_ms))
        return
    result, response = reply
    invalid = bad_response(result.status_code, result.headers, response)
    if invalid is not None:  # reported as the handler's error, nothing of it sent
        result, response = Result(id=result.id, ok=False, status_code=500,
                                  error_type="InvalidResponse", error_message=invalid,
                                  logs=result.logs, max_rss_kb=result.max_rss_kb), b""
    # Positional, in the field order (status, status_code, headers, body, error_type,
    # error_message, traceback, logs, init_ms, wait_ms, duration_ms, max_rss_mb, instance):
    # every call ends here, and keywords took twice as long.
    done(Outcome(
        Status.SUCCESS if result.ok else Status.ERROR, result.status_code, result.headers,
        response, result.error_type, result.error_message, result.traceback, result.logs,
        init_ms, wait_ms - init_ms if wait_ms > init_ms else 0.0, duration_ms,
        result.max_rss_kb / 1024, instance.id))


def _on_exit(pool: VersionPool, pid: int, code: int) -> None:
    instance = pool.by_pid.get(pid)
    if instance is not None:
        instance.exit_code = code


def _refused(exc: Overloaded | RateLimited) -> Outcome:
    if isinstance(exc, RateLimited):
        return throttled(exc.message, exc.quota, 429, exc.retry_after)
    return throttled(exc.message, "Overloaded", 503, exc.retry_after)


_GONE_STATUS = {Status.TIMEOUT: 504, Status.OOM: 502, Status.CRASHED: 502}


async def _no_host(request: HostRequest, body: bytes) -> tuple[object, bytes]:
    raise PlatformError(f"host call {request.op!r}: this node serves no host calls")
