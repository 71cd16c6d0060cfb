"""One behaviour suite for every `Queue` backend, against the real servers: SQLite (a file,
the queue inside the store as `yun up` runs it), PostgreSQL (a scratch database per test,
the queue's own connections as with YUN_QUEUE_URL) and NATS JetStream (a stream per test).

SQL backends read an injected clock, so leases and delays expire without waiting; JetStream
keeps time on the server, so its cases wait the (short) real ack-wait and delays."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from yun.queue import Job, NatsQueue, Queue, SqlQueue
from yun.queue._sql import DEDUPE_WINDOW
from yun.store import Store

POSTGRES_URL = os.environ.get(
    "YUN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("YUN_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_ACK_WAIT = 1.0

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.value = time.time()

    def __call__(self) -> float:
        return self.value


@dataclass
class Backend:
    """Opens queues over one backend's storage; `wait` lets `seconds` of queue time pass."""

    name: str
    open: Callable[[], Awaitable[Queue]]
    wait: Callable[[float], Awaitable[None]]
    lease: float
    url: str = ""  # the SQL backends' database
    opened: list[Queue] = field(default_factory=list)

    async def queue(self) -> Queue:
        q = await self.open()
        self.opened.append(q)
        return q


@pytest.fixture(params=["sqlite", "postgres", "nats"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clock = Clock()

    async def advance(seconds: float) -> None:
        clock.value += seconds

    if request.param == "sqlite":
        # The embedded profile: the queue inside the store (its connections, its commits).
        url = f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}"
        stores: list[Store] = []

        async def in_store() -> Queue:
            stores.append(await Store.open(url))
            return SqlQueue.in_store(stores[-1], now=clock)

        b = Backend("sqlite", in_store, advance, lease=30.0, url=url)
        yield b
        await _close(b)
        for store in stores:
            await store.close()
    elif request.param == "postgres":
        async for url in _scratch_postgres():
            await (await Store.open(url)).close()
            b = Backend("postgres", lambda u=url: _sql(u, clock), advance, lease=30.0, url=url)
            yield b
            await _close(b)
        return
    else:
        stream = f"yun-test-{uuid.uuid4().hex[:10]}"

        async def open_nats() -> Queue:
            return await NatsQueue.open(NATS_URL, stream=stream, ack_wait=NATS_ACK_WAIT)

        b = Backend("nats", open_nats, asyncio.sleep, lease=NATS_ACK_WAIT)
        yield b
        cleanup = await NatsQueue.open(NATS_URL, stream=stream, ack_wait=NATS_ACK_WAIT)
        await cleanup.delete()
        await cleanup.close()
    await _close(b)


async def _sql(url: str, clock: Clock) -> Queue:
    return SqlQueue.open(url, now=clock)


async def _close(b: Backend) -> None:
    for q in b.opened:
        await q.close()
    b.opened.clear()


async def _scratch_postgres() -> AsyncIterator[str]:
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"yun_queue_{uuid.uuid4().hex[:12]}"
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def job(n: int = 0, *, tenant: str = "default", target: str = "hello",
        key: str | None = None) -> Job:
    return Job(id=uuid.uuid4().hex, tenant=tenant, target=target,
               body=f'{{"n": {n}}}'.encode(), source="api", enqueued_at=time.time(),
               dedupe_key=key)


async def test_a_put_job_is_taken_once_with_its_fields(backend: Backend) -> None:
    q = await backend.queue()
    sent = job(1)
    assert await q.put(sent) == sent.id
    leases = await q.take(10, backend.lease)
    assert [lease.job for lease in leases] == [sent]
    assert leases[0].attempt == 1
    assert await q.take(10, backend.lease) == []


async def test_a_job_survives_closing_and_reopening_the_queue(backend: Backend) -> None:
    q = await backend.queue()
    sent = job(2)
    await q.put(sent)
    await q.close()
    backend.opened.remove(q)
    again = await backend.queue()
    assert [lease.job.id for lease in await again.take(10, backend.lease)] == [sent.id]


async def test_a_lease_that_runs_out_delivers_the_job_again(backend: Backend) -> None:
    q = await backend.queue()
    sent = job(3)
    await q.put(sent)
    first = await q.take(1, backend.lease)
    assert await q.take(1, backend.lease) == []  # still leased
    await backend.wait(backend.lease + 0.5)
    second = await q.take(1, backend.lease)
    assert [lease.job.id for lease in second] == [sent.id]
    assert (first[0].attempt, second[0].attempt) == (1, 2)


async def test_extend_keeps_the_lease_past_its_first_end(backend: Backend) -> None:
    q = await backend.queue()
    await q.put(job(4))
    [lease] = await q.take(1, backend.lease)
    await backend.wait(backend.lease * 0.6)
    lease = await q.extend(lease, backend.lease)
    await backend.wait(backend.lease * 0.6)
    assert await q.take(1, backend.lease) == []
    await q.done(lease)
    assert await q.depth() == 0


async def test_retry_holds_the_job_back_for_its_delay(backend: Backend) -> None:
    q = await backend.queue()
    sent = job(5)
    await q.put(sent)
    [lease] = await q.take(1, backend.lease)
    await q.retry(lease, 1.0)
    assert await q.take(1, backend.lease) == []
    await backend.wait(1.3)
    again = await q.take(1, backend.lease)
    assert [lease.job.id for lease in again] == [sent.id]
    assert again[0].attempt == 2


async def test_done_removes_the_job_for_good(backend: Backend) -> None:
    q = await backend.queue()
    await q.put(job(6))
    assert await q.depth() == 1
    [lease] = await q.take(1, backend.lease)
    assert await q.depth() == 1  # leased jobs count
    await q.done(lease)
    assert await q.depth() == 0
    await backend.wait(backend.lease + 0.5)
    assert await q.take(1, backend.lease) == []


async def test_a_dedupe_key_maps_a_second_put_to_the_first_job(backend: Backend) -> None:
    q = await backend.queue()
    first, second = job(7, key="order-1"), job(8, key="order-1")
    assert await q.put(first) == first.id
    assert await q.put(second) == first.id
    other_tenant = job(9, tenant="acme", key="order-1")
    assert await q.put(other_tenant) == other_tenant.id
    assert await q.depth() == 2
    # Still deduped after the first job has ended.
    for lease in await q.take(10, backend.lease):
        await q.done(lease)
    assert await q.put(job(10, key="order-1")) == first.id
    assert await q.depth() == 0


async def test_depth_counts_per_tenant_and_per_target(backend: Backend) -> None:
    q = await backend.queue()
    for sent in (job(target="a"), job(target="a"), job(target="b:live"),
                 job(tenant="acme", target="a")):
        await q.put(sent)
    assert await q.depth() == 4
    assert await q.depth("default") == 3
    assert await q.depth_by_target("default") == {"a": 2, "b:live": 1}
    assert await q.depth_by_target("nobody") == {}


async def test_concurrent_takers_never_hold_the_same_job(backend: Backend) -> None:
    producer = await backend.queue()
    sent = {(await producer.put(job(n))) for n in range(40)}
    takers = [await backend.queue() for _ in range(4)]
    got: list[str] = []

    async def drain(q: Queue) -> None:
        idle = 0
        while idle < 3:
            leases = await q.take(3, backend.lease)
            idle = 0 if leases else idle + 1
            got.extend(lease.job.id for lease in leases)
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(q) for q in takers))
    assert sorted(got) == sorted(sent)  # every job, none twice


async def test_sql_queues_forget_dedupe_keys_past_their_window(backend: Backend) -> None:
    if backend.name == "nats":
        pytest.skip("JetStream expires the keys itself (the bucket's TTL)")
    q = await backend.queue()
    first = job(11, key="k")
    await q.put(first)
    await backend.wait(DEDUPE_WINDOW + 61)
    later = job(12, key="k")
    assert await q.put(later) == later.id  # a new job: the window is over
    await backend.wait(DEDUPE_WINDOW + 61)
    await q.put(job(13, key="other"))  # a put past the sweep interval deletes expired keys
    engine = create_async_engine(backend.url)
    async with engine.connect() as conn:
        keys = (await conn.execute(sa.text("SELECT key FROM queue_dedupe"))).scalars().all()
    await engine.dispose()
    assert keys == ["other"]
