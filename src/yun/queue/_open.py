"""Pick the queue backend by URL, as the store is picked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit, urlunsplit

from yun.core import InvalidRequest
from yun.queue._nats import NatsQueue
from yun.queue._sql import SqlQueue
from yun.queue._types import Queue
from yun.store import Store


async def open_queue(url: str | None, store: Store) -> Queue:
    """`url` None (or empty) uses the store's database and connections. `postgresql://…`
    (or SQLAlchemy's async URL forms) is migrated like a store first;
    `nats://HOST:PORT?stream=NAME` is JetStream (stream `yun-async` by default)."""
    if not url:
        return SqlQueue.in_store(store)
    parts = urlsplit(url)
    if parts.scheme in ("nats", "tls"):
        stream = parse_qs(parts.query).get("stream", ["yun-async"])[0]
        return await NatsQueue.open(urlunsplit(parts._replace(query="")), stream=stream)
    if parts.scheme in ("postgresql", "postgres"):
        url = urlunsplit(parts._replace(scheme="postgresql+asyncpg"))
    elif not parts.scheme.startswith(("postgresql+", "sqlite")):
        raise InvalidRequest("YUN_QUEUE_URL must start with sqlite, postgresql:// or nats://, "
                             f"was: {url!r}")
    # The queue's tables come with the store's migrations (a no-op when they ran already).
    await (await Store.open(url)).close()
    return SqlQueue.open(url)
