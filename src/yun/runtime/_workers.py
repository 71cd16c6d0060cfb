"""The threads of an instance that serves a sync handler: who reads the socket, who runs
which frame, and when replies leave.

The thread that reads a batch of frames runs the whole batch, one frame after another: on a
shared core, handing each frame to another thread (a wake-up and a GIL switch each) cost
more than quick handlers did. One thread that runs nothing is the standby: it reads the
next batch, and while frames of a batch wait it looks every `HANDOFF` seconds and takes the
next one itself if none was started since it last looked (a handler blocked on I/O, or one
that computes for long). The thread that takes a frame hands the standby role to an idle
one. So `concurrency` calls still run at once when they need to, and quick ones pay for no
thread they do not use.

Replies leave together: a thread that finishes a call while frames of its batch wait keeps
the reply; the batch's replies are sent when its last frame ends, or by the standby when
they have waited `HANDOFF`.
"""

from __future__ import annotations

import select
import socket
import threading
from collections import deque
from collections.abc import Callable

from yun.protocol import Frame, FrameError, FrameSplitter

HANDOFF = 0.002  # s a frame may wait unstarted (or a reply unsent) before the standby acts
_CHUNK = 256 << 10

# Runs one frame and returns the reply frame to send (None: nothing to answer).
Run = Callable[[Frame], "bytes | None"]


class Workers:
    def __init__(self, sock: socket.socket, run: Run, handoff: float = HANDOFF) -> None:
        self._sock = sock
        self._run = run
        self._handoff_ms = handoff * 1000
        self._cv = threading.Condition(threading.Lock())
        self._ready: deque[Frame] = deque()  # read, not started
        self._replies: list[bytes] = []  # finished, not sent
        self._sending = threading.Lock()  # keeps each send whole and in order
        self._started = 0  # frames started so far: the standby's measure of progress
        self._stalled_at = -1  # `_started` when a standby last took over a stalled batch
        self._standby = False  # a thread holds the role
        self._idle = 0  # threads waiting for the role
        self._closed = False
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        # One buffer for every read: `recv(n)` would allocate n bytes per call.
        self._buffer = bytearray(_CHUNK)
        self._view = memoryview(self._buffer)
        self._splitter = FrameSplitter()

    def serve(self, concurrency: int) -> None:
        """Serve until the node closes the socket, on this thread and `concurrency - 1` more."""
        if concurrency == 1:
            self._serve_alone()
            return
        for i in range(concurrency - 1):
            threading.Thread(target=self._work, daemon=True, name=f"yun-worker-{i}").start()
        self._work()  # returns at EOF; the others are daemons, idle or about to return

    def _serve_alone(self) -> None:
        """One thread, one call at a time (the node sends no more): nothing to share."""
        while (frames := self._read()) is not None:
            replies = [reply for reply in map(self._run, frames) if reply is not None]
            if replies:
                try:
                    self._sock.sendall(replies[0] if len(replies) == 1 else b"".join(replies))
                except OSError:
                    return

    def _work(self) -> None:
        while True:
            frame = self._as_standby()
            while frame is not None:
                reply = self._run(frame)
                frame = self._after(reply)
            if self._closed:
                return

    def _after(self, reply: bytes | None) -> Frame | None:
        """Keep `reply`; the batch's next frame to run, or None (its replies sent) if none."""
        with self._cv:
            if reply is not None:
                self._replies.append(reply)
            if self._ready:
                self._started += 1
                return self._ready.popleft()
        self._flush()
        return None

    def _as_standby(self) -> Frame | None:
        """Wait for the standby role, then hold it until this thread takes a frame to run.
        None once the socket is closed."""
        with self._cv:
            while self._standby and not self._closed:
                self._idle += 1
                self._cv.wait()
                self._idle -= 1
            if self._closed:
                return None
            self._standby = True
        # Passed on by a standby that found the batch stalled: if nothing started since,
        # the stall goes on, and the next frame is taken at once, not after HANDOFF more (a
        # batch of calls that all wait on I/O spreads over the threads in one look).
        seen, self._stalled_at = self._stalled_at, -1
        looked = False  # a look of HANDOFF went by with nothing to read
        while True:
            with self._cv:
                if self._ready and self._started == seen:
                    frame = self._leave_standby()  # the batch stalled: run its next frame
                    self._stalled_at = self._started
                    return frame
                seen = self._started
                wait = bool(self._ready or self._replies)
            if looked and self._replies:
                self._flush()  # replies that waited HANDOFF
            looked = False
            if wait and not self._poll.poll(self._handoff_ms):
                looked = True
                continue
            frames = self._read()
            with self._cv:
                if frames is None:
                    self._closed = True
                    self._standby = False
                    self._cv.notify_all()
                    return None
                self._ready.extend(frames)
                if self._ready:
                    return self._leave_standby()
                # a read that ended inside a frame: read on

    def _leave_standby(self) -> Frame:
        """Take the next frame to run (with `_cv` held) and pass the role on."""
        self._standby = False
        if self._idle:
            self._cv.notify()
        self._started += 1
        return self._ready.popleft()

    def _read(self) -> list[Frame] | None:
        """One `recv` and the frames it completes; None at EOF, a reset or a corrupt stream."""
        try:
            size = self._sock.recv_into(self._buffer)
            if not size:
                return None
            return self._splitter.feed(bytes(self._view[:size]))
        except (OSError, FrameError):
            return None

    def _flush(self) -> None:
        with self._sending:
            with self._cv:
                replies, self._replies = self._replies, []
            if not replies:
                return
            try:
                self._sock.sendall(replies[0] if len(replies) == 1 else b"".join(replies))
            except OSError:
                with self._cv:
                    self._closed = True  # the node is gone: every thread ends
                    self._cv.notify_all()
