"""Frames survive a round trip, and broken streams are refused rather than misread."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yun.protocol import (
    FrameError,
    Invoke,
    LogRecord,
    Result,
    decode,
    encode,
    read_frame,
    recv_control,
    send_control,
    send_frame,
)

texts = st.text(max_size=50)

invokes = st.builds(Invoke, id=texts, timeout_ms=st.integers(0, 10**9), function=texts,
                    version=st.integers(1, 10**6), memory_mb=st.integers(64, 10240), tenant=texts)
results = st.builds(
    Result,
    id=texts,
    ok=st.booleans(),
    status_code=st.integers(100, 599),
    headers=st.lists(st.tuples(texts, texts), max_size=5),
    error_type=st.none() | texts,
    error_message=st.none() | texts,
    logs=st.lists(st.builds(LogRecord, stream=st.sampled_from(["stdout", "stderr"]),
                            time=st.floats(0, 2e9), line=texts), max_size=5),
    max_rss_kb=st.integers(0, 2**40),
    duration_ms=st.floats(0, 1e6),
)


@given(header=invokes | results, body=st.binary(max_size=4096))
def test_every_frame_decodes_to_what_was_encoded(header: Invoke | Result, body: bytes) -> None:
    assert decode(encode(header, body)) == (header, body)


@given(header=invokes, body=st.binary(max_size=4096), cut=st.integers(0, 100))
def test_a_truncated_frame_is_an_error_not_a_short_message(header: Invoke, body: bytes,
                                                           cut: int) -> None:
    frame = encode(header, body)
    truncated = frame[: max(0, len(frame) - 1 - cut)]
    with pytest.raises(FrameError):
        decode(truncated)


def test_an_oversized_length_prefix_is_refused() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        decode(b"\xff\xff\xff\xff\x00\x00\x00\x00")


def test_garbage_headers_are_refused() -> None:
    with pytest.raises(FrameError, match="undecodable"):
        decode(b"\x00\x00\x00\x03\x00\x00\x00\x00abc")


def test_frames_stream_over_a_socket_in_pieces() -> None:
    left, right = socket.socketpair()
    with left, right:
        message = Invoke(id="a", timeout_ms=5, function="f", version=1, memory_mb=128, tenant="t")
        send_frame(left, message, b"x" * 100_000)
        send_frame(left, message, b"")
        assert read_frame(right) == (message, b"x" * 100_000)
        assert read_frame(right) == (message, b"")


def test_control_frames_carry_file_descriptors() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a, b = socket.socketpair()
    with left, right, a, b:
        message = Invoke(id="a", timeout_ms=5, function="f", version=1, memory_mb=128, tenant="t")
        send_control(left, message, [a.fileno()])
        got, fds = recv_control(right)
        assert got == message and len(fds) == 1
        passed = socket.socket(fileno=fds[0])
        passed.send(b"hi")
        assert b.recv(2) == b"hi"
        passed.close()
        left.close()
        with pytest.raises(EOFError):
            recv_control(right)
