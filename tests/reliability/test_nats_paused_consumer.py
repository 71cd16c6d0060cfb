"""A consumer that stops answering mid-burst on NATS JetStream: past ack-wait its leased jobs
go to the other consumer; every job is done, none is lost, duplicates only for the jobs the
paused consumer held (within the retry budget)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest

from yun.queue import Job, NatsQueue

NATS_URL = os.environ.get("YUN_TEST_NATS_URL", "nats://127.0.0.1:4222")
ACK_WAIT = 1.0
JOBS = 200

pytestmark = pytest.mark.timeout(60)


async def test_a_paused_consumer_past_ack_wait_loses_nothing() -> None:
    stream = f"yun-paused-{uuid.uuid4().hex[:10]}"
    producer = await NatsQueue.open(NATS_URL, stream=stream, ack_wait=ACK_WAIT)
    paused = await NatsQueue.open(NATS_URL, stream=stream, ack_wait=ACK_WAIT)
    healthy = await NatsQueue.open(NATS_URL, stream=stream, ack_wait=ACK_WAIT)
    try:
        sent = [Job(id=uuid.uuid4().hex, tenant="default", target="hello",
                    body=f'{{"n": {n}}}'.encode(), source="api", enqueued_at=time.time())
                for n in range(JOBS)]
        for job in sent:
            await producer.put(job)
        # The paused consumer takes some jobs and then never acks, naks or extends them.
        held = await paused.take(20, ACK_WAIT)
        assert held, "the paused consumer got no jobs"
        done: list[str] = []  # the ledger: every job the healthy consumer finished
        deadline = time.monotonic() + 30
        while len(set(done)) < JOBS and time.monotonic() < deadline:
            for lease in await healthy.take(50, ACK_WAIT):
                done.append(lease.job.id)
                await healthy.done(lease)
        assert set(done) == {job.id for job in sent}, "jobs lost"
        duplicates = len(done) - len(set(done))
        assert duplicates <= len(held)
        # The paused consumer's jobs came back: after their ack-wait, at attempt 2.
        assert {lease.job.id for lease in held} <= set(done)
        await asyncio.sleep(ACK_WAIT + 0.2)
        assert await producer.depth() == 0
    finally:
        await producer.delete()
        for queue in (producer, paused, healthy):
            await queue.close()
