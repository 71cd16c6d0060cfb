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


async def test_records_arriving_back_to_back_share_a_few_commits(store: Store) -> None:
    batches: list[int] = []
    add = store.add_activations

    async def counted(records, lines):  # type: ignore[no-untyped-def]
        batches.append(len(records))
        await add(records, lines)

    store.add_activations = counted  # type: ignore[method-assign]
    recorder = Recorder(store, flush_seconds=0.05, pace=0.05)
    writer = asyncio.create_task(recorder.run())
    try:
        first = await recorder.record(record("first"), [])
        assert await asyncio.wait_for(first, 5) is True  # an idle recorder writes at once
        futures = []
        for i in range(20):  # ≈ 20 ms of arrivals: within one or two paced batches
            futures.append(await recorder.record(record(f"r{i}"), []))
            await asyncio.sleep(0.001)
        assert all(await asyncio.wait_for(asyncio.gather(*futures), 5))
    finally:
        recorder.stop()
        await writer
    assert batches[0] == 1 and sum(batches) == 21
    assert len(batches) <= 4


async def test_a_full_recorder_refuses_add_and_record_waits_for_room(store: Store) -> None:
    recorder = Recorder(store, flush_seconds=0.05, capacity=2)
    assert recorder.add(record("q1"), []) and recorder.add(record("q2"), [])
    assert not recorder.add(record("q3"), [])  # full: the fast path holds its connection
    waiting = asyncio.create_task(recorder.record(record("q3"), []))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # no writer yet: the queue stays full
    writer = asyncio.create_task(recorder.run())
    try:
        written = await asyncio.wait_for(waiting, 5)
        assert await asyncio.wait_for(written, 5) is True
    finally:
        recorder.stop()
        await writer
    assert {(await store.get_activation("default", i)).id for i in ("q1", "q2", "q3")} == {
        "q1", "q2", "q3"}


async def test_a_full_batch_is_written_without_waiting_for_the_pace(store: Store) -> None:
    """The pace gathers records into fewer commits; it must not cap the rate. A queue that
    already holds a batch is written as soon as the previous commit ends, or the recorder
    could take at most `batch / pace` records a second (16,667 with the defaults) and every
    connection would wait for room above that."""
    recorder = Recorder(store, flush_seconds=60, batch=5, pace=60, capacity=100)
    futures = [await recorder.record(record(f"p{i}"), []) for i in range(15)]
    writer = asyncio.create_task(recorder.run())
    try:
        # Three full batches: the first at once (an idle recorder), the others right after.
        assert all(await asyncio.wait_for(asyncio.gather(*futures), 5))
    finally:
        recorder.stop()
        await writer
    assert recorder.written == 15
