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
        self._leading = False

    async def run(self, op: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        if not self._leading:
            self._leading = True
            try:
                while self._pending:
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                    await self._commit(batch)
            finally:
                self._leading = False
                # Led no further (cancelled): the writes still waiting fail rather than hang.
                for _op, waiting in self._pending:
                    waiting.set_exception(PlatformError("the write was not committed: the "
                                                        "batch leader was cancelled"))
                self._pending.clear()
        return await future

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
