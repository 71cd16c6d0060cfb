"""The queue in the store's database: SQLite (embedded) or PostgreSQL (`FOR UPDATE SKIP
LOCKED`). The tables come with the store's migrations (`queue_jobs`, `queue_dedupe`)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yun.core import PlatformError
from yun.queue._types import Job, Lease
from yun.store import (
    WRITE,
    Batcher,
    Store,
    create_engine,
    insert_absent,
    queue_dedupe,
    queue_jobs,
)

DEDUPE_WINDOW = 24 * 3600.0
SWEEP_SECONDS = 60.0  # how often a put also deletes expired dedupe keys


class SqlQueue:
    """Jobs are rows; a lease is the row's `due_at` moved to the lease's end plus a new
    `token`, so a dispatcher that dies simply lets its leases run out."""

    def __init__(self, engine: AsyncEngine, *, now: Callable[[], float] = time.time,
                 dedupe_window: float = DEDUPE_WINDOW, batcher: Batcher | None = None,
                 owns_engine: bool = True) -> None:
        self._engine = engine
        self._now = now
        self._window = dedupe_window
        self._postgres = engine.dialect.name == "postgresql"
        # Takes, puts and acks of concurrent jobs share a transaction (one fsync, see
        # `Batcher`); in the store's database, with the store's own writes too.
        self._batch = batcher or Batcher(self._write)
        self._owns_engine = owns_engine
        self._swept = 0.0

    @classmethod
    def open(cls, url: str, *, now: Callable[[], float] = time.time,
             dedupe_window: float = DEDUPE_WINDOW) -> SqlQueue:
        """`url` is the store's (already migrated by `Store.open`)."""
        return cls(create_engine(url), now=now, dedupe_window=dedupe_window)

    @classmethod
    def in_store(cls, store: Store, *, now: Callable[[], float] = time.time) -> SqlQueue:
        """The embedded queue: the store's tables, connections and group commit (closing
        the queue leaves the store open)."""
        return cls(store.engine, now=now, batcher=store.batcher, owns_engine=False)

    async def close(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(**{WRITE: True})
                async with conn.begin():
                    yield conn
        except sa.exc.IntegrityError:
            raise  # the batcher retries
        except sa.exc.DBAPIError as e:
            raise PlatformError(f"queue {self._engine.url.render_as_string()} failed: "
                                f"{e.orig}") from e

    async def put(self, job: Job) -> str:
        return await self._batch.run(lambda conn: self._put(conn, job))

    async def _put(self, conn: AsyncConnection, job: Job) -> str:
        now = self._now()
        if now - self._swept > SWEEP_SECONDS:
            # Keys past their window would otherwise stay forever, one per event.
            self._swept = now
            await conn.execute(queue_dedupe.delete().where(queue_dedupe.c.expires_at <= now))
        if job.dedupe_key is not None:
            kept = await self._dedupe(conn, job, now)
            if kept is not None:
                return kept
        # A put repeated after a crash stores the job once.
        await conn.execute(insert_absent(conn, queue_jobs).values(
            id=job.id, tenant=job.tenant, target=job.target, body=job.body, source=job.source,
            enqueued_at=job.enqueued_at, dedupe_key=job.dedupe_key, due_at=now, deliveries=0,
            depth=job.depth, token=None))
        return job.id

    async def _dedupe(self, conn: AsyncConnection, job: Job, now: float) -> str | None:
        """The id already accepted under the job's key inside the window, else claim the key."""
        key = (queue_dedupe.c.tenant == job.tenant) & (queue_dedupe.c.key == job.dedupe_key)
        query = sa.select(queue_dedupe.c.job_id, queue_dedupe.c.expires_at).where(key)
        if self._postgres:
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        if row is not None and row.expires_at > now:
            return str(row.job_id)
        if row is not None:
            await conn.execute(queue_dedupe.delete().where(key))
        await conn.execute(queue_dedupe.insert().values(
            tenant=job.tenant, key=job.dedupe_key, job_id=job.id,
            expires_at=now + self._window))
        return None

    async def take(self, limit: int, lease_seconds: float) -> list[Lease]:
        now = self._now()
        until = now + lease_seconds
        token = os.urandom(8).hex()
        due = (sa.select(queue_jobs).where(queue_jobs.c.due_at <= now)
               .order_by(queue_jobs.c.due_at).limit(limit))
        if self._postgres:
            # Concurrent takers skip each other's rows instead of waiting or double-taking.
            due = due.with_for_update(skip_locked=True)

        async def lease(conn: AsyncConnection) -> Sequence[sa.RowMapping]:
            rows = (await conn.execute(due)).mappings().all()
            if rows:
                await conn.execute(
                    queue_jobs.update()
                    .where(queue_jobs.c.id.in_([r["id"] for r in rows]))
                    .values(due_at=until, token=token, deliveries=queue_jobs.c.deliveries + 1))
            return rows

        rows = await self._batch.run(lease)
        return [Lease(job=_job(r), attempt=r["deliveries"] + 1, lease_until=until, token=token)
                for r in rows]

    async def extend(self, lease: Lease, seconds: float) -> Lease:
        until = self._now() + seconds
        if await self._update(lease, due_at=until):
            return Lease(lease.job, lease.attempt, until, lease.token)
        return lease

    async def done(self, lease: Lease) -> None:
        await self._change(lease, queue_jobs.delete())

    async def retry(self, lease: Lease, delay: float) -> None:
        # The token goes too: this lease is over, whatever a late `done` may say.
        await self._update(lease, due_at=self._now() + delay, token=None)

    async def _update(self, lease: Lease, **values: object) -> bool:
        return await self._change(lease, queue_jobs.update().values(**values))

    async def _change(self, lease: Lease, statement: sa.Update | sa.Delete) -> bool:
        mine = (queue_jobs.c.id == lease.job.id) & (queue_jobs.c.token == lease.token)

        async def change(conn: AsyncConnection) -> bool:
            return bool((await conn.execute(statement.where(mine))).rowcount)

        return await self._batch.run(change)

    async def depth(self, tenant: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(queue_jobs)
        if tenant is not None:
            query = query.where(queue_jobs.c.tenant == tenant)
        async with self._engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def depth_by_target(self, tenant: str) -> dict[str, int]:
        """Jobs waiting or leased per target of one tenant (for `yun top`)."""
        query = (sa.select(queue_jobs.c.target, sa.func.count())
                 .where(queue_jobs.c.tenant == tenant).group_by(queue_jobs.c.target))
        async with self._engine.connect() as conn:
            return {str(t): int(n) for t, n in (await conn.execute(query)).all()}


def _job(row: sa.RowMapping) -> Job:
    return Job(id=row["id"], tenant=row["tenant"], target=row["target"], body=bytes(row["body"]),
               source=row["source"], enqueued_at=row["enqueued_at"],
               dedupe_key=row["dedupe_key"], depth=row["depth"])
