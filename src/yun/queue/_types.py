"""What crosses the queue interface. Backends store `Job`s and hand out `Lease`s; the
`Dispatcher` turns leases into invocations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Job:
    """One accepted async invocation: stored durably before its caller hears `202`."""

    id: str  # the invocation id the caller was given
    tenant: str
    target: str  # function[:alias|:version]
    body: bytes  # JSON (for events: the CloudEvents envelope)
    source: str  # "api", "cron", "mqtt", "nats", "webhook", "bucket", ...
    enqueued_at: float  # wall clock, seconds
    dedupe_key: str | None = None  # Idempotency-Key or an event source's stable key
    depth: int = 0  # hops of functions invoking functions behind this job (X-Yun-Depth)


@dataclass(frozen=True, slots=True)
class Lease:
    """A job handed to one dispatcher until `lease_until`; after that another may take it."""

    job: Job
    attempt: int  # 1 for the first delivery
    lease_until: float
    token: str  # backend-specific handle (row version, JetStream reply subject, ...)


class Queue(Protocol):
    """At-least-once delivery. Every method is safe to call again after a crash."""

    async def put(self, job: Job) -> str:
        """Store `job` durably; return its id, or the id of the job already stored under the
        same (tenant, dedupe_key) inside the dedupe window."""
        ...

    async def take(self, limit: int, lease_seconds: float) -> list[Lease]:
        """Up to `limit` jobs that are due, leased for `lease_seconds`."""
        ...

    async def done(self, lease: Lease) -> None:
        """The job ended (success, or failure after its last retry recorded elsewhere)."""
        ...

    async def extend(self, lease: Lease, seconds: float) -> Lease:
        """Keep a lease while its invocation runs: held for at least `seconds` more (a
        backend with a fixed ack-wait restarts it). A lease already lost stays lost: the
        same `lease` comes back, unchanged."""
        ...

    async def retry(self, lease: Lease, delay: float) -> None:
        """Deliver the job again no sooner than `delay` seconds from now."""
        ...

    async def depth(self, tenant: str | None = None) -> int:
        """Jobs waiting or leased (per tenant when given)."""
        ...

    async def depth_by_target(self, tenant: str) -> dict[str, int]:
        """Jobs waiting or leased per target of one tenant (for `yun top`)."""
        ...

    async def close(self) -> None: ...


# How event sources hand an event to the async path: (tenant, target, JSON body, source,
# dedupe key) -> invocation id. Durable on return.
Submit = Callable[[str, str, bytes, str, "str | None"], Awaitable[str]]
