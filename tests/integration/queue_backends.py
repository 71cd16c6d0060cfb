"""YUN_QUEUE_URL values for a throw-away queue on each backend (a scratch PostgreSQL
database, a NATS stream of its own), removed afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from yun.queue import NatsQueue

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NATS = "nats://127.0.0.1:4222"
BACKENDS = ["sqlite", "postgres", "nats"]


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


async def _drop_stream(stream: str) -> None:
    queue = await NatsQueue.open(NATS, stream=stream)
    await queue.delete()
    await queue.close()


@contextmanager
def queue_url(backend: str) -> Iterator[str]:
    """"" for the embedded SQLite queue."""
    name = f"yun-q-{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        yield ""
    elif backend == "postgres":
        database = name.replace("-", "_")
        asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{database}"
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    else:
        try:
            yield f"{NATS}?stream={name}"
        finally:
            asyncio.run(_drop_stream(name))
