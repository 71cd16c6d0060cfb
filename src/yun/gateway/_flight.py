"""One store load per key at a time: concurrent cache misses of the same key share it.

The gateway's caches expire (30 s): a burst that arrives after a quiet spell finds every
entry stale at once, and without this each of its requests would query the store for the
same key, tenant or route — 100 requests, 100 identical queries on the store's one
connection, all before the first cold start can begin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._loads: dict[K, asyncio.Future[V]] = {}

    async def load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """`load()`'s result; a caller arriving while another's load of `key` runs waits for
        that one (and gets its result or its exception) instead of starting its own."""
        while (pending := self._loads.get(key)) is not None:
            try:
                # Shielded: a waiter cancelled (its client gone) must not cancel the load
                # the others wait for.
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled
                # The loading caller was cancelled: load again (one of us will).
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loads[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters re-raise it, or nobody waited
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._loads.get(key) is future:
                del self._loads[key]

    def forget(self, key: K) -> None:
        """Callers from now on start a new load of `key`: the running one may have read what
        has just changed (a deploy, a revoked key)."""
        self._loads.pop(key, None)

    def forget_all(self) -> None:
        self._loads.clear()
