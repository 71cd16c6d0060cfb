"""Backends the store suite runs against: a SQLite file always, PostgreSQL when reachable."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from yun.store import Store

POSTGRES_URL = os.environ.get(
    "YUN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_NO_ASYNCPG = importlib.util.find_spec("asyncpg") is None


class Clock:
    """Wall clock for the store that ticks one second per reading."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        self.value += 1.0
        return self.value


async def _scratch_postgres() -> AsyncIterator[str]:
    """A fresh database per test, dropped afterwards, so runs never see each other's rows."""
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"yun_test_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except (OSError, sa.exc.DBAPIError) as e:
        await admin.dispose()
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {e}")
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(
                _NO_ASYNCPG, reason="asyncpg is not installed, PostgreSQL backend not tested"
            ),
        ),
    ]
)
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'yun.db'}"
    else:
        async for url in _scratch_postgres():
            yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_url: str, clock: Clock) -> AsyncIterator[Store]:
    opened = await Store.open(store_url, now=clock)
    try:
        yield opened
    finally:
        await opened.close()
