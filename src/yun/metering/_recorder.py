"""Turns outcomes into activation records and writes them to the store in batches.

Group commit: one transaction per batch instead of one fsync per invocation, so the store's
`synchronous=FULL` costs nothing on the invoke path. A crash can lose the batch in flight
(at most `flush_seconds` of sync invocations, whose callers saw their connection drop too).
Callers that must not go on before the record is durable (the async dispatcher, which stores
an invocation's outcome next) await the future `record` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from yun.core import ActivationRecord
from yun.store import LogLine, Store

log = logging.getLogger("yun.metering")

_Item = tuple[ActivationRecord, list[LogLine], "asyncio.Future[bool] | None"]


class Recorder:
    def __init__(self, store: Store, flush_seconds: float = 0.05, batch: int = 500,
                 capacity: int = 20_000, pace: float = 0.01) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.batch = batch
        # Under load, a batch is what arrived during the previous commit, and each commit has
        # a fixed cost (a transaction, an fsync, the hops to the driver's thread) that
        # dominated per-record cost when commits followed each other back to back. A batch
        # therefore starts no sooner than `pace` seconds after the previous one did; an
        # idle recorder still writes the first record at once.
        self.pace = min(pace, flush_seconds)
        self._last_write = -pace
        # Bounded: when the store falls behind, callers wait here instead of memory growing.
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=capacity)
        self._stopping = asyncio.Event()
        self.written = 0

    async def record(self, record: ActivationRecord, logs: list[LogLine]) -> asyncio.Future[bool]:
        """Queue the record; the future is True once its batch committed (False if the
        store refused it on every attempt, which is logged)."""
        written: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._queue.full():
            await self._queue.put((record, logs, written))
        else:
            self._queue.put_nowait((record, logs, written))  # no coroutine on the hot path
        return written

    def add(self, record: ActivationRecord, logs: list[LogLine]) -> bool:
        """`record` without waiting and without a future to say when it is durable (the
        HTTP fast path answers before that anyway); False when the queue is full."""
        if self._queue.full():
            return False
        self._queue.put_nowait((record, logs, None))
        return True

    async def run(self) -> None:
        """Write batches until stopped, then drain what is queued."""
        while not (self._stopping.is_set() and self._queue.empty()):
            items = await self._collect()
            if items:
                await self._write(items)

    async def _collect(self) -> list[_Item]:
        items: list[_Item] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.flush_seconds):
                items.append(await self._queue.get())
        if items and not self._stopping.is_set():
            loop = asyncio.get_running_loop()
            wait = self._last_write + self.pace - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_write = loop.time()
        while items and len(items) < self.batch and not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items

    async def _write(self, items: list[_Item]) -> None:
        records = [r for r, _, _ in items]
        lines = [line for _, logs, _ in items for line in logs]
        written = False
        for attempt in range(5):
            try:
                await self.store.add_activations(records, lines)
                self.written += len(records)
                written = True
                break
            except Exception:
                log.exception("writing %d activation records failed (attempt %d)",
                              len(records), attempt + 1)
                await asyncio.sleep(0.1 * (attempt + 1))
        for _, _, future in items:
            if future is not None and not future.done():
                future.set_result(written)

    def stop(self) -> None:
        self._stopping.set()
