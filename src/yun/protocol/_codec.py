"""Length-prefixed frames: `!II` (header length, body length), msgpack header, raw body.

Stream sockets (the invoke path) need the prefix to find frame boundaries; the control
channels use SOCK_SEQPACKET so one recvmsg is one frame and file descriptors travel with it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from typing import cast

import msgspec

from yun.protocol._frames import Message

PREFIX = struct.Struct("!II")
MAX_HEADER = 1 << 20  # 1 MiB: headers are small structs; anything larger is a corrupt stream
MAX_BODY = 64 << 20  # well above the 6 MiB request limit; results are capped by the runtime

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Message)


class FrameError(Exception):
    """The byte stream is not a valid frame (corrupt, truncated or oversized)."""


def encode(header: Message, body: bytes = b"") -> bytes:
    head = _encoder.encode(header)
    return PREFIX.pack(len(head), len(body)) + head + body


def decode(frame: bytes) -> tuple[Message, bytes]:
    """Decode one complete frame."""
    if len(frame) < PREFIX.size:
        raise FrameError(f"frame shorter than its prefix: {len(frame)} bytes")
    head_len, body_len = PREFIX.unpack_from(frame)
    check_lengths(head_len, body_len)
    if len(frame) != PREFIX.size + head_len + body_len:
        raise FrameError(
            f"frame length {len(frame)} does not match its prefix "
            f"({PREFIX.size} + {head_len} + {body_len})"
        )
    head = frame[PREFIX.size : PREFIX.size + head_len]
    return decode_header(head), frame[PREFIX.size + head_len :]


def decode_header(head: bytes) -> Message:
    try:
        return cast(Message, _decoder.decode(head))
    except msgspec.DecodeError as exc:
        raise FrameError(f"undecodable frame header: {exc}") from exc


def check_lengths(head_len: int, body_len: int) -> None:
    if head_len > MAX_HEADER:
        raise FrameError(f"frame header of {head_len} bytes exceeds {MAX_HEADER}")
    if body_len > MAX_BODY:
        raise FrameError(f"frame body of {body_len} bytes exceeds {MAX_BODY}")


def parse_prefix(prefix: bytes) -> tuple[int, int]:
    head_len, body_len = PREFIX.unpack(prefix)
    check_lengths(head_len, body_len)
    return head_len, body_len


# Blocking helpers, used inside the sandbox where there is no event loop.


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("peer closed the connection")
        got += n
    return bytes(buf)


def read_frame(sock: socket.socket) -> tuple[Message, bytes]:
    head_len, body_len = parse_prefix(recv_exactly(sock, PREFIX.size))
    head = recv_exactly(sock, head_len)
    body = recv_exactly(sock, body_len) if body_len else b""
    return decode_header(head), body


def send_frame(sock: socket.socket, header: Message, body: bytes = b"") -> None:
    sock.sendall(encode(header, body))


MAX_CONTROL_FDS = 8
MAX_CONTROL_FRAME = 256 << 10


def send_control(sock: socket.socket, header: Message, fds: list[int] | None = None) -> None:
    """Send one frame on a SOCK_SEQPACKET control channel, optionally with fds."""
    data = encode(header)
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def recv_control(sock: socket.socket) -> tuple[Message, list[int]]:
    """Receive one control frame and the fds that came with it. EOFError when closed."""
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, MAX_CONTROL_FRAME, MAX_CONTROL_FDS)
    except ConnectionResetError as exc:
        raise EOFError("control channel reset") from exc
    if not data:
        for fd in fds:
            _close_quietly(fd)
        raise EOFError("control channel closed")
    header, _body = decode(data)
    return header, fds


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
