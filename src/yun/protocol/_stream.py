"""Frames out of a byte stream, however the bytes arrive: several frames in one read, or one
frame over many (sans-I/O; the node agent feeds it from its event loop, an instance from a
blocking socket).

Reading everything available at once and cutting it here, instead of three exact reads per
frame, is what lets one wake-up serve every frame that has arrived.
"""

from __future__ import annotations

import socket
import threading
from collections import deque

from yun.protocol._codec import PREFIX, check_lengths, decode_header
from yun.protocol._frames import Message

Frame = tuple[Message, bytes]


class FrameSplitter:
    def __init__(self) -> None:
        # The tail of an incomplete frame, kept as chunks so a large body arriving in many
        # reads is joined once (not copied again at every read).
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = PREFIX.size  # bytes the incomplete frame needs before anything can be cut

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data`, in order; FrameError on a corrupt stream."""
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            data = b"".join(self._chunks)
            self._chunks = []
        frames: list[Frame] = []
        pos, size = 0, len(data)
        need = PREFIX.size
        while size - pos >= PREFIX.size:
            head_len, body_len = PREFIX.unpack_from(data, pos)
            check_lengths(head_len, body_len)
            start = pos + PREFIX.size
            end = start + head_len + body_len
            if end > size:
                need = end - pos
                break
            body = data[start + head_len:end] if body_len else b""
            frames.append((decode_header(data[start:start + head_len]), body))
            pos = end
        if pos < size:
            rest = data[pos:] if pos else data
            self._chunks = [rest]
            self._have = len(rest)
            self._need = need
        else:
            self._have = 0
            self._need = PREFIX.size
        return frames


class FrameReader:
    """Blocking reads for a sandbox's socket: one `recv` takes whatever has arrived, later
    calls return the frames already cut before reading again. Not thread-safe: threads that
    share one take turns (a lock)."""

    def __init__(self, sock: socket.socket, chunk: int = 256 << 10) -> None:
        self._sock = sock
        # One buffer for every read: `recv(chunk)` would allocate `chunk` bytes per call,
        # which above malloc's mmap threshold is an mmap, page faults and an munmap each time.
        self._buffer = bytearray(chunk)
        self._view = memoryview(self._buffer)
        self._splitter = FrameSplitter()
        self._ready: deque[Frame] = deque()

    def read(self) -> Frame:
        """The next frame; EOFError when the peer closed the connection."""
        while not self._ready:
            size = self._sock.recv_into(self._buffer)
            if not size:
                raise EOFError("peer closed the connection")
            self._ready.extend(self._splitter.feed(bytes(self._view[:size])))
        return self._ready.popleft()


class FrameWriter:
    """Blocking writes shared by threads: a frame sent while another thread is in `sendall`
    is queued and leaves with that thread's next `sendall`, so replies finishing together
    cost one system call (and one wake-up of the node agent) instead of one each."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._queued: list[bytes] = []
        self._sending = False

    def send(self, frame: bytes) -> None:
        with self._lock:
            self._queued.append(frame)
            if self._sending:
                return  # the thread sending now takes it along
            self._sending = True
        try:
            while True:
                with self._lock:
                    frames, self._queued = self._queued, []
                    if not frames:
                        self._sending = False
                        return
                self._sock.sendall(frames[0] if len(frames) == 1 else b"".join(frames))
        except BaseException:
            with self._lock:
                self._sending = False  # the socket is broken; whoever sends next finds out
            raise
