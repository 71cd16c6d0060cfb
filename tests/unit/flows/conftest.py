"""A store per test for the flows tests that need one: SQLite always, PostgreSQL when it is
reachable (the same backends as tests/unit/store)."""

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    _NO_ASYNCPG, reason="asyncpg is not installed, PostgreSQL backend not tested"))])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}")
        try:
            yield store
        finally:
            await store.close()
        return
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"yun_test_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except (OSError, sa.exc.DBAPIError) as e:
        await admin.dispose()
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {e}")
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    store = await Store.open(url)
    try:
        yield store
    finally:
        await store.close()
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
