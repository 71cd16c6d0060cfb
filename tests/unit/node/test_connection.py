"""The node agent's end of an instance socket: one write per loop pass, every reply delivered."""

from __future__ import annotations

import asyncio
import socket

import pytest

from yun.node._connection import InstanceConnection
from yun.protocol import PREFIX, FrameSplitter, Invoke, Message, Result, encode


def _invoke(n: int) -> bytes:
    return encode(Invoke(id=f"r{n}", timeout_ms=1000, function="f", version=1, memory_mb=128,
                         tenant="t"), b"{}")


async def _connected() -> tuple[InstanceConnection, socket.socket]:
    ours, theirs = socket.socketpair()
    received: list[tuple[Message, bytes]] = []
    _, conn = await asyncio.get_running_loop().create_unix_connection(
        lambda: InstanceConnection(lambda m, b: received.append((m, b))), sock=ours)
    conn.received = received  # type: ignore[attr-defined]
    theirs.setblocking(False)
    return conn, theirs


async def _read_all(sock: socket.socket) -> list[bytes]:
    """Each recv's bytes: with nothing else writing, one recv per write that reached it."""
    loop = asyncio.get_running_loop()
    chunks = []
    await asyncio.sleep(0.05)
    while True:
        try:
            chunks.append(await asyncio.wait_for(loop.sock_recv(sock, 1 << 20), 0.05))
        except TimeoutError:
            return chunks


async def test_frames_sent_in_one_pass_leave_in_one_write() -> None:
    conn, theirs = await _connected()
    with theirs:
        frames = [_invoke(n) for n in range(5)]
        for frame in frames:
            conn.send(frame)
        with pytest.raises(BlockingIOError):
            theirs.recv(1)  # nothing has left yet: the one write comes after this pass
        chunks = await _read_all(theirs)
        assert b"".join(chunks) == b"".join(frames)
        conn.close()


async def test_a_large_frame_goes_at_once_after_the_queued_ones() -> None:
    conn, theirs = await _connected()
    with theirs:
        small, large = _invoke(1), encode(Result(id="x", ok=True), b"x" * (1 << 17))
        conn.send(small)
        conn.send(large)
        data = b"".join(await _read_all(theirs))
        assert [m for m, _ in FrameSplitter().feed(data)] == [
            m for m, _ in FrameSplitter().feed(small + large)]
        conn.close()


async def test_replies_split_across_reads_are_delivered_whole_and_in_order() -> None:
    conn, theirs = await _connected()
    with theirs:
        replies = [encode(Result(id=f"r{n}", ok=True), b"body%d" % n) for n in range(3)]
        stream = b"".join(replies)
        theirs.sendall(stream[:3])
        await asyncio.sleep(0.02)
        theirs.sendall(stream[3:25])
        await asyncio.sleep(0.02)
        theirs.sendall(stream[25:])
        await asyncio.sleep(0.05)
        got = conn.received  # type: ignore[attr-defined]
        assert [(m.id, b) for m, b in got] == [(f"r{n}", b"body%d" % n) for n in range(3)]
        conn.close()


async def test_a_corrupt_stream_closes_the_connection() -> None:
    conn, theirs = await _connected()
    with theirs:
        theirs.sendall(PREFIX.pack(1 << 30, 0))
        await asyncio.wait_for(conn.closed, 2)
