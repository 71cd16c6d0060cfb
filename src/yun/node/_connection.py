"""The node agent's end of an instance's invoke socket, as an asyncio protocol.

Both directions batch per wake-up of the event loop. Frames sent during one pass of the
loop (every request that reached its instance in that pass) leave in one `write`, so on a
shared core the instance wakes once for all of them instead of preempting the gateway after
each. Replies are cut out of whatever one read brought (`FrameSplitter`) and handed over
directly, without a coroutine per `readexactly`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from yun.protocol import FrameError, FrameSplitter, Message

# Larger frames are written at once: batching them saves nothing and copies a lot.
_BATCH_LIMIT = 64 << 10
# No write-side flow control: what waits unsent is bounded by the calls in flight on the
# instance (at most its `concurrency`, each ≤ 6 MiB), which the node agent already limits.


class InstanceConnection(asyncio.Protocol):
    def __init__(self, on_frame: Callable[[Message, bytes], None]) -> None:
        self._on_frame = on_frame
        self._splitter = FrameSplitter()
        self._transport: asyncio.Transport | None = None
        self._queued: list[bytes] = []
        # Kept: `get_running_loop()` costs a getpid() system call, and `send` runs per call.
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; a socket's is one in kind.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._splitter.feed(data)
        except FrameError:
            self.close()  # a corrupt stream: the instance is unusable
            return
        for message, body in frames:
            self._on_frame(message, body)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)

    # -- sending ---------------------------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        """Queue `frame`; it leaves with the others sent in this pass of the loop."""
        if self._transport is None:
            return  # closed: the call hears InstanceGone when the instance is found gone
        if len(frame) > _BATCH_LIMIT:
            self._flush()
            self._transport.write(frame)
            return
        if not self._queued:
            self._loop.call_soon(self._flush)
        self._queued.append(frame)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        if queued and self._transport is not None:
            self._transport.write(queued[0] if len(queued) == 1 else b"".join(queued))
