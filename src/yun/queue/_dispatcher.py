"""Turns queued jobs into invocations: leases, attempts, retries, dead letters, destinations.

Every backend behaves alike because the policy lives here: an attempt is counted in the
store before it runs, so a job delivered again after a crash spends its budget too, and
duplicates stay within `async.retries + 1` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from yun.core import NotFound, Status, Version, YunError
from yun.queue._backoff import backoff
from yun.queue._types import Job, Lease, Queue
from yun.store import DeadLetter, Invocation, Store

log = logging.getLogger("yun.queue")


class Outcome(Protocol):
    @property
    def status(self) -> Status: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def error_type(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...


class Invoked(Protocol):
    @property
    def request_id(self) -> str: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def recorded(self) -> Awaitable[bool]: ...


class Invoker(Protocol):
    """`gateway.InvokeApp`: the same quotas, node path and activation record as HTTP."""

    async def invoke(self, tenant: str, target: str, body: bytes,
                     request_id: str | None = None, depth: int = 0,
                     version: Version | None = None) -> Invoked: ...


Resolve = Callable[[str, str], Awaitable[Version]]
# The tenant if it exists and is enabled, else None (`KeyCache.active_tenant`).
TenantActive = Callable[[str], Awaitable[object | None]]
# (tenant, destination, record JSON, dedupe key, depth): where on_success/on_failure records
# go, one hop further than the job. The default submits them to the destination function;
# bucket destinations plug in here.
Deliver = Callable[[str, str, bytes, str, int], Awaitable[None]]


@dataclass(frozen=True)
class DispatchConfig:
    max_in_flight: int = 256  # jobs leased by this dispatcher at once, over all functions
    batch: int = 32  # jobs per take
    lease_seconds: float = 10.0  # renewed while the invocation runs; a crash holds jobs this long
    poll_seconds: float = 0.2  # idle wait between takes
    backoff_base: float = 1.0  # seconds; the bound doubles per failed attempt
    backoff_cap: float = 300.0
    full_delay: float = 0.5  # a job of a function already at its in-flight cap waits this
    disabled_delay: float = 30.0  # a disabled tenant's jobs wait, unrun, until it is enabled


class Dispatcher:
    def __init__(self, queue: Queue, store: Store, invoker: Invoker, resolve: Resolve,
                 deliver: Deliver, tenant_active: TenantActive,
                 config: DispatchConfig | None = None,
                 now: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random) -> None:
        self.queue = queue
        self.store = store
        self.invoker = invoker
        self.resolve = resolve
        self.deliver = deliver
        self.tenant_active = tenant_active
        self.config = config or DispatchConfig()
        self._now = now
        self._rand = rand
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._leased = 0
        self._slot = asyncio.Event()
        self.in_flight: Counter[tuple[str, str]] = Counter()  # (tenant, function) → running

    def wake(self) -> None:
        """A job was just put (in this process): take now rather than after the idle poll."""
        self._wakeup.set()

    def stop(self) -> None:
        """Take no more jobs; `run` returns once the invocations in flight have finished."""
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            while not self._stopping.is_set():
                free = self.config.max_in_flight - self._leased
                if free <= 0:
                    self._slot.clear()
                    await self._wait(self._slot)
                    continue
                try:
                    leases = await self.queue.take(min(free, self.config.batch),
                                                   self.config.lease_seconds)
                except YunError as e:
                    log.warning("queue take failed, trying again: %s", e)
                    leases = []
                if not leases:
                    await self._wait(self._wakeup)
                    self._wakeup.clear()
                    continue
                for lease in leases:
                    self._leased += 1
                    group.create_task(self._handle(lease), name=f"async-{lease.job.id}")

    async def _wait(self, event: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self.config.poll_seconds)

    async def _handle(self, lease: Lease) -> None:
        try:
            await self._dispatch(lease)
        except Exception:
            # The lease runs out and the job comes back: nothing accepted is dropped here.
            log.exception("async invocation %s failed in the dispatcher", lease.job.id)
        finally:
            self._leased -= 1
            self._slot.set()

    async def _dispatch(self, lease: Lease) -> None:
        job = lease.job
        if await self.tenant_active(job.tenant) is None:
            # Disabled (or removed): its jobs neither run nor die; they wait.
            await self.queue.retry(lease, self.config.disabled_delay)
            return
        try:
            version = await self.resolve(job.tenant, job.target)
        except NotFound as e:
            # The function is gone: no retry can help.
            await self._dead(lease, None, _error(0, "NotFound", str(e), self._now()))
            return
        spec = version.manifest.async_
        if self._now() - job.enqueued_at > spec.max_age:
            message = f"event older than async.max_age ({spec.max_age:g}s)"
            await self._dead(lease, version, _error(0, "MaxAgeExceeded", message, self._now()))
            return
        key = (job.tenant, version.function)
        manifest = version.manifest
        if self.in_flight[key] >= manifest.scale.max * manifest.concurrency:
            # A slow function builds queue depth, not memory; this is no attempt.
            await self.queue.retry(lease, self.config.full_delay)
            return
        self.in_flight[key] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.in_flight[key] -= 1

        try:
            await self._attempt(lease, version, release)
        finally:
            release()

    async def _attempt(self, lease: Lease, version: Version, release: Callable[[], None]) -> None:
        job = lease.job
        spec = version.manifest.async_
        row = await self.store.begin_attempt(job.id, job.tenant, job.target, job.source)
        if row.status in ("succeeded", "dead"):
            # Delivered again after its outcome was stored (a crash before the ack): send
            # the destination record again (deduped, so at most once) and ack.
            if row.status == "succeeded":
                await self._destination(job, spec.on_success, "Success", row.attempts,
                                        row.result, None)
            else:
                await self._destination(job, spec.on_failure, "RetriesExhausted",
                                        row.attempts, None, row.errors[-1] if row.errors else None)
            await self.queue.done(lease)
            return
        if row.attempts > spec.retries + 1:
            # Earlier deliveries started and never reported (a crash, an expired lease).
            message = f"attempt {row.attempts - 1} did not finish (its lease ran out)"
            await self._dead(lease, version, _error(row.attempts - 1, "LeaseExpired", message,
                                                    self._now()))
            return
        keeper = asyncio.create_task(self._keep(lease))
        try:
            # The version whose async settings apply runs: resolving again could pick
            # another side of an alias split.
            invoked = await self.invoker.invoke(job.tenant, job.target, job.body,
                                                f"{job.id}-{row.attempts}", depth=job.depth,
                                                version=version)
        finally:
            release()  # the function's capacity is free again; what follows is bookkeeping
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        # The run's record is durable before its outcome is: a crash after the outcome is
        # stored must not leave a succeeded invocation without the record of its run.
        await invoked.recorded
        outcome = invoked.outcome
        if outcome.status == Status.SUCCESS:
            # Stored, then the destination, then the ack: a crash in between delivers the
            # job again, which finds the outcome and repeats only the (deduped) record.
            await self.store.invocation_succeeded(job.id, outcome.body)
            await self._destination(job, spec.on_success, "Success", row.attempts,
                                    outcome.body, None)
            await self.queue.done(lease)
            return
        if outcome.status == Status.THROTTLED:
            await self.store.attempt_throttled(job.id)
            await self.queue.retry(lease, _retry_after(outcome))
            return
        error = _error(row.attempts, outcome.error_type or outcome.status.value,
                       outcome.error_message or "", self._now(), outcome.status.value,
                       invoked.request_id)
        if row.attempts <= spec.retries:
            await self.store.attempt_failed(job.id, error, "failed")  # retry scheduled
            delay = backoff(row.attempts, self.config.backoff_base, self.config.backoff_cap,
                            self._rand)
            await self.queue.retry(lease, delay)
            return
        await self._dead(lease, version, error, row)

    async def _keep(self, lease: Lease) -> None:
        """Renew the lease while the invocation runs, however long its timeout."""
        while True:
            await asyncio.sleep(max(0.05, (lease.lease_until - self._now()) / 3))
            try:
                renewed = await self.queue.extend(lease, self.config.lease_seconds)
            except YunError as e:
                # The run goes on; if the lease does run out the job runs again (counted).
                log.warning("could not renew the lease of %s: %s", lease.job.id, e)
                continue
            if renewed is lease:
                # Lost (it ran out and another taker has it): renewing cannot bring it back.
                log.warning("the lease of %s ran out while it ran", lease.job.id)
                return
            lease = renewed

    async def _dead(self, lease: Lease, version: Version | None, error: dict[str, Any],
                    row: Invocation | None = None) -> None:
        job = lease.job
        if row is None:
            await self.store.invocation_queued(job.id, job.tenant, job.target, job.source)
            row = await self.store.get_invocation(job.tenant, job.id)
            if row.status in ("succeeded", "dead"):  # ended before this delivery
                await self.queue.done(lease)
                return
        letter = DeadLetter(id=job.id, tenant=job.tenant, target=job.target, source=job.source,
                            body=job.body, errors=[*row.errors, error],
                            enqueued_at=job.enqueued_at, dead_at=self._now())
        await self.store.invocation_dead(letter)
        if version is not None:
            await self._destination(job, version.manifest.async_.on_failure,
                                    "RetriesExhausted", row.attempts, None, error)
        await self.queue.done(lease)

    async def _destination(self, job: Job, target: str | None, condition: str, attempts: int,
                           response: bytes | None, error: dict[str, Any] | None) -> None:
        """A record in Lambda's destination shape; deduped per invocation and condition, so
        a job delivered again does not send it twice."""
        if target is None:
            return
        record = {
            "version": "1.0",
            "timestamp": self._now(),
            "requestContext": {"requestId": job.id, "function": job.target,
                               "condition": condition, "approximateInvokeCount": attempts},
            "requestPayload": _json_or_text(job.body),
            "responsePayload": _json_or_text(response) if response is not None else None,
            "error": error,
        }
        try:
            await self.deliver(job.tenant, target, json.dumps(record).encode(),
                               f"{job.id}:{condition}", job.depth + 1)
        except YunError as e:
            log.warning("destination %s of %s refused the record: %s", target, job.id, e)


def _error(attempt: int, type: str, message: str, at: float, status: str = "error",
           activation_id: str | None = None) -> dict[str, Any]:
    return {"attempt": attempt, "status": status, "type": type, "message": message, "at": at,
            "activation_id": activation_id}


def _retry_after(outcome: Outcome) -> float:
    for name, value in outcome.headers:
        if name == "retry-after":
            with contextlib.suppress(ValueError):
                return max(0.1, float(value))
    return 1.0


def _json_or_text(body: bytes) -> object:
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")

