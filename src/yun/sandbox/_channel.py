"""Async send/receive of control frames (with fds) on a SOCK_SEQPACKET socket."""

from __future__ import annotations

import asyncio
import socket

from yun.protocol import Message, recv_control, send_control


class ControlChannel:
    """One end of a control channel, driven from the event loop."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self._waiting: asyncio.Future[None] | None = None
        self.closed = False

    async def send(self, message: Message, fds: list[int] | None = None) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                send_control(self.sock, message, fds)
                return
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self.sock, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(self.sock)

    async def recv(self) -> tuple[Message, list[int]]:
        """The next frame; EOFError once the peer is gone."""
        loop = asyncio.get_running_loop()
        while True:
            if self.closed:
                raise EOFError("control channel closed")
            try:
                return recv_control(self.sock)
            except BlockingIOError:
                ready = self._waiting = loop.create_future()
                loop.add_reader(self.sock, _set, ready)
                try:
                    await ready
                finally:
                    self._waiting = None
                    if not self.closed:
                        loop.remove_reader(self.sock)
            except ConnectionResetError as exc:
                raise EOFError("control channel reset") from exc

    def close(self) -> None:
        """Close, waking a pending recv with EOFError.

        The fd must leave the event loop's selector before it is closed: a new socket reusing
        the number would otherwise inherit a stale registration and never be woken.
        """
        if self.closed:
            return
        self.closed = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            loop.remove_reader(self.sock)
            loop.remove_writer(self.sock)
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_exception(EOFError("control channel closed"))
        self.sock.close()


def _set(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def seqpacket_pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
