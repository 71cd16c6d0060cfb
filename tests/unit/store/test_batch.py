"""Group commit: concurrent writes share transactions; a failed batch fails its callers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.store import WRITE, Batcher, create_engine


async def test_concurrent_writes_share_transactions_and_all_land(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    commits = 0

    @asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncConnection]:
        nonlocal commits
        async with engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield conn
        commits += 1

    batcher = Batcher(transaction)

    async def insert(n: int) -> int:
        async def op(conn: AsyncConnection) -> int:
            await conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
            return n
        return await batcher.run(op)

    assert await asyncio.gather(*(insert(n) for n in range(50))) == list(range(50))
    assert commits < 10
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM t")) == 50

    async def broken(conn: AsyncConnection) -> None:
        await conn.execute(sa.text("INSERT INTO missing VALUES (1)"))

    with pytest.raises(sa.exc.OperationalError):
        await batcher.run(broken)
    assert await insert(100) == 100  # the next batch is unaffected
    await engine.dispose()
