"""A real SQLite store with one deployed function, and a `Submit` that records its calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from events_recording import RecordingSubmit

from yun.core import Manifest
from yun.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}")
    await store.create_version("default", Manifest(name="report", handler="main:handle"),
                               "c1", None, 10)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def submit() -> RecordingSubmit:
    return RecordingSubmit()
