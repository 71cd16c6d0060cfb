"""The way into the async path (`Submit`) and back into it from the dead letters (redrive)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from yun.queue._types import Job, Queue
from yun.store import Store


class Submitter:
    """`await submitter(tenant, target, body, source, dedupe_key)` → invocation id, durable
    on return: the job is in the queue (and its status row in the store) before the id is
    handed out, so a `202` never names an invocation a crash can lose."""

    def __init__(self, queue: Queue, store: Store, now: Callable[[], float] = time.time,
                 on_put: Callable[[], None] = lambda: None) -> None:
        self.queue = queue
        self.store = store
        self._now = now
        self.on_put = on_put  # wakes this process's dispatcher

    async def __call__(self, tenant: str, target: str, body: bytes, source: str,
                       dedupe_key: str | None) -> str:
        job = Job(id=os.urandom(16).hex(), tenant=tenant, target=target, body=body,
                  source=source, enqueued_at=self._now(), dedupe_key=dedupe_key)
        job_id = await self.queue.put(job)
        # After the put: a crash in between leaves a job whose row the dispatcher makes.
        await self.store.invocation_queued(job_id, tenant, target, source)
        self.on_put()
        return job_id

    async def redrive(self, tenant: str, id: str) -> None:
        """Put a dead letter's job back with a fresh age and attempt budget (NotFound if
        there is no such letter)."""
        letter = await self.store.requeue_dead_letter(tenant, id)
        await self.queue.put(Job(id=letter.id, tenant=letter.tenant, target=letter.target,
                                 body=letter.body, source=letter.source,
                                 enqueued_at=self._now()))
        await self.store.drop_dead_letter(letter)
        self.on_put()
