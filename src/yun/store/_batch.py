"""Group commit for small writes: concurrent callers share one transaction (one fsync).

The async path writes a few rows per job (accept, attempt, outcome, ack); one transaction
each would cap it at the database's commits per second, shared with everything else. Here
the first caller leads: it commits the writes waiting at that moment, then any that arrived
meanwhile, while the others wait for their own result. Every write is all-or-nothing with
its batch, so a caller only hears success once its rows are durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import PlatformError

T = TypeVar("T")
Op = Callable[[AsyncConnection], Awaitable[Any]]
Transaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

MAX_BATCH = 256
_ATTEMPTS = 5


class Batcher:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._pending: list[tuple[Op, asyncio.Future[Any]]] = []
        # Commits run in their own task, not in a caller's: a caller that is cancelled (a
        # lease renewal ending with its job) must not take the other callers' writes with it.
        self._draining: asyncio.Task[None] | None = None

    async def run(self, op: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                await self._commit(batch)
        finally:
            # Stopped early (the loop is shutting down): what still waits fails, not hangs.
            for _op, waiting in self._pending:
                if not waiting.done():
                    waiting.set_exception(PlatformError("the write was not committed: the "
                                                        "store is shutting down"))
            self._pending.clear()

    async def _commit(self, batch: list[tuple[Op, asyncio.Future[Any]]]) -> None:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._transaction() as conn:
                    results = [await op(conn) for op, _ in batch]
            except sa.exc.IntegrityError as e:
                # A concurrent transaction (another process) inserted the same key first;
                # the ops read again and go on from the winner's row.
                if attempt < _ATTEMPTS:
                    continue
                _fail(batch, e)
                return
            except BaseException as e:
                _fail(batch, e)
                if not isinstance(e, Exception):
                    raise
                return
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            return


def _fail(batch: list[tuple[Op, asyncio.Future[Any]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
