"""The gateway's HTTP/1.1 protocol: uvicorn's, with the common invocation served without ASGI.

At 64 connections most of the gateway's CPU went to the layers between the socket and the
node agent: an ASGI scope, a request-response cycle, a task and a coroutine chain per
request, and message dicts for each `send`. A `POST /fn/NAME` whose key and route are
cached (every call but the first of a function in 30 s) needs none of that: the headers
come from the parser, the invocation is started from `on_message_complete`, and the
response is written as bytes from the callback that hears its outcome. Everything else (the
control API, errors, `/async`, a query string, a chunked or oversized body, pipelined
requests, a hop header, a cache miss) goes through uvicorn and ASGI as before, so the
fast path never decides an error or a corner case on its own.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from yun.core import Status
from yun.gateway._invoke import (
    ASYNC_SUFFIX,
    MAX_BODY,
    InvokeApp,
    Started,
    response_parts,
    success_head,
)
from yun.node import Outcome, has_body

# What the fast path needs of a request's headers; any other header is passed by.
_AUTHORIZATION = b"authorization"
_CONTENT_LENGTH = b"content-length"
_DEPTH = b"x-yun-depth"
_ASYNC = ASYNC_SUFFIX.encode()
_CLOCK_SLACK = 0.001  # s: uvloop's timers are in whole milliseconds
# A request the fast path reads by itself, without httptools' per-header callbacks: the
# request line of a plain call, then header lines of a token, a colon and a value with no
# control character but tab (no folding, no space before the colon), then the blank line.
# Anything else (or any header below that changes framing or meaning) goes to httptools.
_PLAIN_CALL = re.compile(rb"POST (/fn/[a-z][a-z0-9-]*(?::[A-Za-z0-9_-]+)?) HTTP/1\.1\r\n")
_PLAIN_HEAD = re.compile(rb"(?:[-!#$%&'*+.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*\r\n")
# (llhttp reads `Proxy-Connection` as `Connection`.)
# One search, not a test per name: 0.8 against 3.9 µs (on a slow core).
_PASSED_BY = re.compile(
    rb"\r\n(?:transfer-encoding|connection|proxy-connection|expect|upgrade|x-yun-depth):")
# uvicorn's default headers (a list it replaces every second) and the bytes they make.
_default_head: list[Any] = [None, b""]


class _NoEvent:
    """uvicorn sets its cycle's `message_event` when the connection is lost."""

    @staticmethod
    def set() -> None:
        return None


class _Exchange:
    """One fast request, from its headers to its response. It stands in for uvicorn's
    request-response cycle as the connection's `cycle`, so uvicorn's own bookkeeping holds:
    a pipelined request waits for it, a lost connection marks it `disconnected`, and a
    shutdown clears `keep_alive` so the connection closes once it has answered."""

    __slots__ = ("authorization", "chunks", "disconnected", "keep_alive", "message_event",
                 "response_complete", "target")

    def __init__(self, target: str, authorization: str | None, keep_alive: bool) -> None:
        self.target = target
        self.authorization = authorization
        self.keep_alive = keep_alive
        self.chunks: list[bytes] = []
        self.response_complete = False
        self.disconnected = False
        self.message_event = _NoEvent


class GatewayProtocol(HttpToolsProtocol):
    """Set `invoke_app` (see `gateway_protocol`): the invoke app once the platform has
    started, None before (every request then goes through ASGI)."""

    invoke_app: Callable[[], InvokeApp | None] = staticmethod(lambda: None)
    # Keep-alive: when the connection last went idle (None while a request is being read or
    # served), and one timer that closes it `timeout_keep_alive` after that.
    _idle_since: float | None = None
    _idle_timer: asyncio.TimerHandle | None = None
    # httptools is between requests: no byte of the next one has reached it.
    _at_boundary = True

    def data_received(self, data: bytes) -> None:
        if self._at_boundary and data.startswith(b"POST /fn/") and self._read_plain(data):
            return
        super().data_received(data)

    def on_message_begin(self) -> None:
        # The ASGI scope is built only for requests that go through ASGI (`_to_asgi`).
        self._idle_since = None  # a request (perhaps pipelined behind an answered one) is on
        self._at_boundary = False
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def on_headers_complete(self) -> None:
        exchange = self._fast_exchange()
        if exchange is None:
            self._begin_asgi()
            super().on_headers_complete()
            return
        self.cycle = exchange  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        cycle: Any = self.cycle
        if isinstance(cycle, _Exchange):
            cycle.chunks.append(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._at_boundary = True
        exchange: Any = self.cycle
        if not isinstance(exchange, _Exchange):
            super().on_message_complete()
            return
        body = exchange.chunks[0] if len(exchange.chunks) == 1 else b"".join(exchange.chunks)
        if not self._start(exchange, body):
            self._to_asgi(body)

    # -- the fast path -------------------------------------------------------------------------

    def _start(self, exchange: _Exchange, body: bytes) -> bool:
        """Start the call (True), or leave it to ASGI (False, nothing started)."""
        app = type(self).invoke_app()
        return app is not None and app.start_fast(
            exchange.authorization, exchange.target, body,
            functools.partial(self._answer, exchange, app)) is not None

    def _read_plain(self, data: bytes) -> bool:
        """Serve `data` if it is exactly one plain call (what clients send nearly always);
        False leaves it to httptools, untouched. Only what httptools would read the same
        way is read here: a strict subset of HTTP/1.1, decided before anything starts."""
        if self._in_flight():
            return False
        call = _parse(data, MAX_BODY)
        if call is None:
            return False
        target, authorization, body = call
        self._idle_since = None
        exchange = _Exchange(target, authorization, True)
        self.cycle = exchange  # type: ignore[assignment]
        if self._start(exchange, body):
            return True
        exchange.response_complete = True
        return False

    def _in_flight(self) -> bool:
        """A request is in flight on this connection: the next one, pipelined behind it, is
        for uvicorn to queue."""
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete

    def _fast_exchange(self) -> _Exchange | None:
        """An exchange when this request can take the fast path, else None."""
        url = self.url
        if not url.startswith(b"/fn/") or self.parser.get_method() != b"POST":
            return None
        if self._in_flight():
            return None
        if (self.expect_100_continue or self.parser.should_upgrade()
                or self.parser.get_http_version() != "1.1" or b"?" in url or b"%" in url
                or url.endswith(_ASYNC)):
            return None
        authorization = None
        length = -1
        for name, value in self.headers:
            if name == _AUTHORIZATION:
                authorization = value.decode("latin-1")
            elif name == _CONTENT_LENGTH:
                length = int(value) if value.isdigit() else -1
            elif name == _DEPTH:
                return None
        if not 0 <= length <= MAX_BODY:  # chunked, oversized or malformed: ASGI answers
            return None
        return _Exchange(url[4:].decode("ascii", "replace"), authorization,
                         self.parser.should_keep_alive())

    def _answer(self, exchange: _Exchange, app: InvokeApp, started: Started,
                outcome: Outcome) -> None:
        if not exchange.disconnected and not self.transport.is_closing():
            if outcome.status is Status.SUCCESS:
                status = outcome.status_code
                self.transport.write(_answer(
                    STATUS_LINE[status], self._default_head(), started.request_id,
                    started.version.number, outcome.headers, outcome.body, has_body(status),
                    not exchange.keep_alive))
            else:
                status, headers, body = response_parts(outcome, started.request_id,
                                                       started.version)
                parts = [STATUS_LINE[status], self._default_head()]
                for name, value in headers:
                    parts += (name, b": ", value, b"\r\n")
                self.transport.write(_framed(parts, body, has_body(status),
                                             not exchange.keep_alive))
        waiting = app.record_soon(started, outcome)
        if waiting is None:
            self._complete(exchange)
        else:  # the recorder is behind: this connection's next request waits for room
            waiting.add_done_callback(lambda _: self._complete(exchange))

    def _default_head(self) -> bytes:
        """The server's default headers (date, server) as bytes, joined again only when
        uvicorn replaces them (once a second)."""
        defaults = self.server_state.default_headers
        if _default_head[0] is not defaults:
            _default_head[:] = [defaults, b"".join(b"%s: %s\r\n" % pair for pair in defaults)]
        head: bytes = _default_head[1]
        return head

    def _complete(self, exchange: _Exchange) -> None:
        """The exchange is over: uvicorn may read (or start) the connection's next request."""
        exchange.response_complete = True
        if not exchange.keep_alive:
            self.transport.close()
        self.on_response_complete()

    # -- keep-alive: one timer per connection, not one per response ------------------------

    def _unset_keepalive_if_required(self) -> None:
        """Data arrived: the connection is busy (the timer, if armed, finds that out). uvicorn
        cancels a timer here and arms a new one at every response; that was 2 of the fast
        path's 40 µs."""
        self._idle_since = None

    def on_response_complete(self) -> None:
        """uvicorn's, with the keep-alive timer left armed across requests."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = now = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_at(now + self.timeout_keep_alive, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_timer = None
        if self._idle_since is None:
            return  # busy: its response arms the timer again
        due = self._idle_since + self.timeout_keep_alive
        if self.loop.time() >= due - _CLOCK_SLACK:
            self.timeout_keep_alive_handler()
        else:
            self._idle_timer = self.loop.call_at(due, self._idle_check)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    # -- everything else -----------------------------------------------------------------------

    def _begin_asgi(self) -> None:
        """Build the ASGI scope uvicorn's `on_message_begin` would have, for this request."""
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.expect_100_continue = url, expect
        self.headers.extend(headers)  # the scope holds uvicorn's new list

    def _to_asgi(self, body: bytes) -> None:
        """A request read as a fast one goes through ASGI after all, its body complete."""
        exchange: Any = self.cycle
        exchange.response_complete = True  # nothing was sent: let uvicorn start its cycle
        self._begin_asgi()
        super().on_headers_complete()
        self.cycle.body = bytearray(body)
        self.cycle.more_body = False
        self.cycle.message_event.set()


def parse_plain(data: bytes, max_body: int) -> tuple[str, str | None, bytes] | None:
    """`data` as one plain call: its target (after `/fn/`), its Authorization value and
    its body; None if it is anything else (httptools reads it then). The reference reader:
    `_plain.c` reads the same way, and the tests hold the two to each other."""
    line = _PLAIN_CALL.match(data)
    if line is None:
        return None
    start = line.end() - 2  # the head from the request line's CR LF on
    end = data.find(b"\r\n\r\n", start)
    if end < 0 or _PLAIN_HEAD.fullmatch(data, start + 2, end + 4) is None:
        return None
    head = data[start:end + 2].lower()
    if _PASSED_BY.search(head) is not None:
        return None
    length = _value(head, head, b"\r\ncontent-length:")
    if length is None:
        return None
    length = length.rstrip(b" \t")
    if (not length.isdigit() or len(length) > len(str(max_body))
            or head.count(b"\r\ncontent-length:") != 1):
        return None  # more digits than max_body's: too large, or padded with zeros
        # (and int() of a few thousand digits would raise, not refuse)
    size = int(length)
    if end + 4 + size != len(data) or size > max_body:
        return None  # a partial body, a pipelined request after it, or too large
    authorization = _value(head, data[start:end + 2], b"\r\nauthorization:")
    if authorization is not None and head.count(b"\r\nauthorization:") != 1:
        return None
    return (line[1][4:].decode(),
            None if authorization is None else authorization.decode("latin-1"), data[end + 4:])


def plain_answer(status_line: bytes, default_head: bytes, request_id: str, version: int,
                 headers: list[tuple[str, str]], body: bytes, length: bool,
                 close: bool) -> bytes:
    """A successful call's whole response: the status line, the server's headers, the
    call's (`success_head`), a Content-Length if `length`, `Connection: close` if `close`,
    then the body. The reference writer: `_plain.c` writes the same bytes."""
    return _framed([status_line, default_head, success_head(headers, request_id, version)],
                   body, length, close)


def _framed(head: list[bytes], body: bytes, length: bool, close: bool) -> bytes:
    """A response from its head so far: a Content-Length if `length`, `Connection: close` if
    `close`, the blank line, then the body."""
    if length:
        head.append(b"content-length: %d\r\n" % len(body))
    if close:
        head.append(b"connection: close\r\n")
    head += (b"\r\n", body)
    return b"".join(head)


def _value(lowered: bytes, head: bytes, name: bytes) -> bytes | None:
    """The value of header `name` (lower case, with the CR LF before it) in `head`, found in
    `lowered` (its lower-case copy), without the blanks before it (as httptools gives it);
    None if absent."""
    at = lowered.find(name)
    if at < 0:
        return None
    at += len(name)
    return head[at:head.index(b"\r\n", at)].lstrip(b" \t")


try:  # the same in C, where it was built: 3.3 against 0.2 µs a request to read, and
    # 0.8 against 0.2 to write the answer
    from yun.gateway._plain import answer as _answer
    from yun.gateway._plain import parse as _parse
except ImportError:  # pragma: no cover - run from a source tree without the build
    _answer, _parse = plain_answer, parse_plain


def gateway_protocol(invoke_app: Callable[[], InvokeApp | None]) -> type[GatewayProtocol]:
    """The protocol class for uvicorn's `http` setting, serving through `invoke_app()`."""
    return type("BoundGatewayProtocol", (GatewayProtocol,),
                {"invoke_app": staticmethod(invoke_app)})
