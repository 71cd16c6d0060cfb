"""Activation records into a SQLite file through a connection of their own.

Through the async engine, every transaction is several hand-offs to the driver's thread
(check out, BEGIN, each statement, COMMIT, the pool's reset): about 0.65 ms of CPU before a
single row is written, which made recording cost more than running the invocation. Here a
batch crosses to the writer thread once and runs there as one BEGIN IMMEDIATE … COMMIT.

WAL lets this connection and the engine's share the file; both take the write lock up front
and wait for each other (busy timeout), as two engine connections do.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from yun.core.errors import Conflict, PlatformError
from yun.store._engine import BUSY_TIMEOUT_MS

R = TypeVar("R")
L = TypeVar("L")


class SqliteAppender(Generic[R, L]):
    """`write(connection, records, lines)` runs on the writer thread inside the batch's
    transaction (turning the batch into rows there too, off the event loop's turn)."""

    def __init__(self, path: str,
                 write: Callable[[sqlite3.Connection, Sequence[R], Sequence[L]], None]) -> None:
        self.path = path
        self._write_batch = write
        # One thread: the connection is used only there, and batches commit in order.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yun-records")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    async def add(self, records: Sequence[R], lines: Sequence[L]) -> None:
        """Insert both in one transaction; `Conflict` (nothing written) on a duplicate id."""
        if self._closed:
            raise PlatformError(f"store {self.path} is closed")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._write, records, lines)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    # -- on the writer thread ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            # The engine's settings (see `_engine`): FULL, because a record's future says
            # "durable" once this commit returns.
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
        return self._conn

    def _write(self, records: Sequence[R], lines: Sequence[L]) -> None:
        try:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._write_batch(conn, records, lines)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError as e:
            raise Conflict(f"store write kept conflicting: {e}") from e
        except sqlite3.Error as e:
            raise PlatformError(f"store {self.path} failed: {e}") from e

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
