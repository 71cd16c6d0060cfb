"""The recorder's future: resolved only once the record's batch is committed."""

from __future__ import annotations

import asyncio

from test_store import log, record

from yun.metering import Recorder
from yun.store import Store


async def test_the_future_resolves_after_the_batch_is_committed(store: Store) -> None:
    recorder = Recorder(store, flush_seconds=0.05)
    writer = asyncio.create_task(recorder.run())
    try:
        written = await recorder.record(record("a1"), [log("a1", "hello")])
        assert not written.done()  # waits for the batch window, not written inline
        assert await asyncio.wait_for(written, 5) is True
        stored = await store.get_activation("default", "a1")
        assert stored.id == "a1"
    finally:
        recorder.stop()
        await writer


async def test_records_queued_at_stop_are_written_and_resolved(store: Store) -> None:
    recorder = Recorder(store, flush_seconds=10)
    writer = asyncio.create_task(recorder.run())
    futures = [await recorder.record(record(f"r{i}"), []) for i in range(3)]
    recorder.stop()
    await writer
    assert [f.result() for f in futures] == [True, True, True]
