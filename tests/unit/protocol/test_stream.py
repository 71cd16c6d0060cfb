"""A byte stream is cut into the frames that were sent, however its bytes are split."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yun.protocol import (
    PREFIX,
    FrameError,
    FrameReader,
    FrameSplitter,
    FrameWriter,
    Invoke,
    Result,
    encode,
)


def _frames(count: int, body_size: int = 10) -> list[tuple[Invoke, bytes]]:
    return [(Invoke(id=f"r{i}", timeout_ms=1000, function="f", version=1, memory_mb=128,
                    tenant="t"), bytes([i % 256]) * (body_size * i))
            for i in range(count)]


@given(count=st.integers(1, 6), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_frames_survive_any_split_of_the_stream(count: int, cuts: list[int]) -> None:
    sent = _frames(count)
    stream = b"".join(encode(h, b) for h, b in sent)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    splitter = FrameSplitter()
    got = []
    for start, end in itertools.pairwise(points):
        got += splitter.feed(stream[start:end])
    assert got == sent


def test_several_frames_in_one_chunk_come_out_in_order() -> None:
    sent = _frames(5)
    assert FrameSplitter().feed(b"".join(encode(h, b) for h, b in sent)) == sent


def test_a_large_body_arriving_in_small_chunks_is_one_frame() -> None:
    header = Result(id="big", ok=True)
    body = bytes(range(256)) * 4096  # 1 MiB
    stream = encode(header, body)
    splitter = FrameSplitter()
    got = []
    for start in range(0, len(stream), 4096):
        got += splitter.feed(stream[start:start + 4096])
    assert got == [(header, body)]


def test_an_oversized_prefix_is_refused() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        FrameSplitter().feed(PREFIX.pack(1 << 30, 0))


def test_reader_returns_frames_one_at_a_time_from_one_recv() -> None:
    sent = _frames(4)
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"".join(encode(h, b) for h, b in sent))
        left.shutdown(socket.SHUT_WR)
        reader = FrameReader(right)
        assert [reader.read() for _ in sent] == sent
        with pytest.raises(EOFError):
            reader.read()


def test_reader_waits_for_the_rest_of_a_frame() -> None:
    (header, body), = _frames(2)[1:]
    frame = encode(header, body)
    left, right = socket.socketpair()
    with left, right:
        left.sendall(frame[:5])
        later = threading.Timer(0.05, lambda: left.sendall(frame[5:]))
        later.start()
        assert FrameReader(right).read() == (header, body)
        later.join()


def test_a_frame_sent_while_another_thread_is_sending_leaves_with_it() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        writer = FrameWriter(left)
        big = encode(Result(id="big", ok=True), b"x" * (1 << 20))  # blocks until read
        small = encode(Result(id="small", ok=True), b"y")
        first = threading.Thread(target=writer.send, args=(big,))
        first.start()
        time.sleep(0.1)  # the first thread is inside sendall, the peer not reading
        second = threading.Thread(target=writer.send, args=(small,))
        second.start()
        second.join(1)
        assert not second.is_alive()  # queued, not blocked behind the first send
        reader = FrameReader(right)
        assert [reader.read()[0].id for _ in range(2)] == ["big", "small"]  # type: ignore[union-attr]
        first.join(5)


def test_frames_from_many_threads_arrive_whole() -> None:
    left, right = socket.socketpair()
    with left, right:
        writer = FrameWriter(left)
        sent = [encode(Result(id=f"t{i}", ok=True), bytes([i]) * 5000) for i in range(40)]
        threads = [threading.Thread(target=writer.send, args=(f,)) for f in sent]
        for t in threads:
            t.start()
        reader = FrameReader(right)
        got = sorted(reader.read()[0].id for _ in sent)  # type: ignore[union-attr]
        for t in threads:
            t.join(5)
        assert got == sorted(f"t{i}" for i in range(40))
