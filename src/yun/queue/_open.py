"""Pick the queue backend by URL, as the store is picked."""

from __future__ import annotations

from yun.core import InvalidRequest
from yun.queue._nats import NatsQueue
from yun.queue._sql import SqlQueue
from yun.queue._types import Queue


async def open_queue(url: str | None, store_url: str) -> Queue:
    """`url` None (or empty) uses the store's database. `postgresql://…` and `sqlite://…`
    take SQLAlchemy's async URL forms too; `nats://…` is JetStream."""
    if not url:
        return SqlQueue.open(store_url)
    scheme = url.partition("://")[0]
    if scheme in ("nats", "tls"):
        return await NatsQueue.open(url)
    if scheme in ("postgresql", "postgres"):
        return SqlQueue.open("postgresql+asyncpg://" + url.partition("://")[2])
    if scheme.startswith(("postgresql+", "sqlite")):
        return SqlQueue.open(url)
    raise InvalidRequest(
        f"YUN_QUEUE_URL must start with sqlite://, postgresql:// or nats://, was: {url!r}")
