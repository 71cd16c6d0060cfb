"""The way into the async path (`Submit`) and back into it from the dead letters (redrive)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from yun.core import RateLimited, check_depth
from yun.queue._types import Job, Queue
from yun.store import Store

MAX_QUEUED = 100_000  # per tenant: jobs waiting or running
DEPTH_TTL = 1.0  # seconds a tenant's counted depth is reused (counting costs a query)


class Submitter:
    """`await submitter(tenant, target, body, source, dedupe_key)` → invocation id, durable
    on return: the job is in the queue (and its status row in the store) before the id is
    handed out, so a `202` never names an invocation a crash can lose."""

    def __init__(self, queue: Queue, store: Store, now: Callable[[], float] = time.time,
                 on_put: Callable[[], None] = lambda: None, max_queued: int = MAX_QUEUED) -> None:
        self.queue = queue
        self.store = store
        self._now = now
        self.on_put = on_put  # wakes this process's dispatcher
        self.max_queued = max_queued
        self._depths: dict[str, tuple[float, int]] = {}  # tenant → (counted at, depth)

    async def __call__(self, tenant: str, target: str, body: bytes, source: str,
                       dedupe_key: str | None, depth: int = 0) -> str:
        """RateLimited (429) while the tenant has `max_queued` jobs waiting or running;
        HopLimitExceeded when `depth` (the hops behind the job) is past the limit."""
        check_depth(depth)
        await self._check_room(tenant)
        job = Job(id=os.urandom(16).hex(), tenant=tenant, target=target, body=body,
                  source=source, enqueued_at=self._now(), dedupe_key=dedupe_key, depth=depth)
        job_id = await self.queue.put(job)
        # After the put: a crash in between leaves a job whose row the dispatcher makes.
        await self.store.invocation_queued(job_id, tenant, target, source)
        self.on_put()
        return job_id

    async def _check_room(self, tenant: str) -> None:
        """The queue is a buffer like any other: bounded per tenant, refused fast when full,
        so one tenant's flood cannot grow it without limit. The count may be up to
        `DEPTH_TTL` old; puts since are added to it."""
        counted = self._depths.get(tenant)
        clock = time.monotonic()
        if counted is None or clock - counted[0] > DEPTH_TTL:
            counted = (clock, await self.queue.depth(tenant))
        if counted[1] >= self.max_queued:
            self._depths[tenant] = counted
            raise RateLimited(
                f"tenant {tenant} has {counted[1]} async invocations queued, the most allowed "
                f"(YUN_ASYNC_MAX_QUEUED={self.max_queued}); retry when some have run",
                "async_max_queued", self.max_queued, counted[1], retry_after=1.0)
        self._depths[tenant] = (counted[0], counted[1] + 1)

    async def redrive(self, tenant: str, id: str) -> None:
        """Put a dead letter's job back with a fresh age and attempt budget (NotFound if
        there is no such letter)."""
        letter = await self.store.requeue_dead_letter(tenant, id)
        await self.queue.put(Job(id=letter.id, tenant=letter.tenant, target=letter.target,
                                 body=letter.body, source=letter.source,
                                 enqueued_at=self._now()))
        await self.store.drop_dead_letter(letter)
        self.on_put()
