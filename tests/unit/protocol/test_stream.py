"""A byte stream is cut into the frames that were sent, however its bytes are split."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yun.protocol import (
    PREFIX,
    FrameError,
    FrameSplitter,
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
