"""The thinnest "handler in another process" in Python: the floor's uvicorn app, but each
request body goes over one Unix socket to a worker process that runs the handler and sends
the answer back (length + id framing, batched per read, no auth, no records, no sandbox).

It is the lower bound for any design that keeps the function out of the HTTP server's
process, which is what `relay_floor.py` compares Yun and the bare floor app with.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from relay_worker import HEADER, split_frames  # the same framing on both ends


class Link(asyncio.Protocol):
    """The server's end of the worker's socket: one future per request in flight."""

    def __init__(self) -> None:
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.last_id = 0

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for request_id, payload in split_frames(self.buffer):
            future = self.pending.pop(request_id, None)
            if future is not None and not future.done():
                future.set_result(payload)

    def call(self, body: bytes) -> "asyncio.Future[bytes]":
        self.last_id = (self.last_id + 1) & 0xFFFFFFFF
        future = asyncio.get_running_loop().create_future()
        self.pending[self.last_id] = future
        assert self.transport is not None
        self.transport.write(HEADER.pack(len(body), self.last_id) + body)
        return future


class Relay:
    def __init__(self) -> None:
        self.link: Link | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        path = Path(tempfile.mkdtemp(prefix="relay-")) / "worker.sock"
        worker = Path(__file__).with_name("relay_worker.py")
        self.worker = subprocess.Popen([sys.executable, str(worker), str(path)])
        for _ in range(500):
            if path.exists():
                break
            await asyncio.sleep(0.01)
        _, self.link = await asyncio.get_running_loop().create_unix_connection(Link, str(path))

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.worker is not None:
                        self.worker.kill()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        assert self.link is not None
        out = await self.link.call(body)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})


app = Relay()
os.environ.setdefault("PYTHONUNBUFFERED", "1")
