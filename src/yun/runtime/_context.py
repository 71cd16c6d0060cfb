"""What a handler sees: the `context` argument and per-invocation log capture."""

from __future__ import annotations

import contextvars
import io
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from yun.protocol import Invoke, LogRecord
from yun.runtime import _host

_client: _host.HostClient | None = None  # set once per instance by `use_host`

_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar("yun_context",
                                                                           default=None)


@dataclass
class Context:
    """The handler's `context`: ids, limits and the remaining time, like Lambda's."""

    request_id: str
    function: str
    version: int
    memory_mb: int
    tenant: str
    deadline: float  # time.monotonic() at which the platform kills the invocation
    depth: int = 0  # hops before this invocation; a call made from here sends depth + 1
    logs: list[LogRecord] = field(default_factory=list)
    # The bucket trigger and chain depth of the event being handled (CloudEvents extensions
    # `yuntrigger`, `yundepth`): the handler's bucket writes carry them for the loop guard.
    origin: tuple[str, int] | None = None

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(self.function)

    def remaining_ms(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    # Lambda's spelling, so handlers written for Lambda keep working.
    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms()

    @property
    def aws_request_id(self) -> str:
        return self.request_id

    @property
    def buckets(self) -> _host.Buckets:
        """The tenant's buckets: `get`, `put`, `list`, `delete`."""
        return _host.Buckets(_require_host(), self.request_id, self.origin)

    def invoke(self, target: str, event: object = None) -> Any:
        """Call another function of this tenant and return its result (HostError if it
        failed)."""
        return _host.invoke(_require_host(), self.request_id, target, event, asynchronous=False)

    def invoke_async(self, target: str, event: object = None) -> str:
        """Queue an invocation of another function of this tenant; returns its id."""
        return str(_host.invoke(_require_host(), self.request_id, target, event,
                                asynchronous=True))


def use_host(client: _host.HostClient | None) -> None:
    global _client
    _client = client


def _require_host() -> _host.HostClient:
    if _client is None:
        raise _host.HostError("Unavailable", "this instance has no host-call channel")
    return _client


def context_for(invoke: Invoke) -> Context:
    # Positional, in the field order (request_id, function, version, memory_mb, tenant,
    # deadline, depth): once per invocation, and keywords took 1.7 times as long.
    return Context(invoke.id, invoke.function, invoke.version, invoke.memory_mb, invoke.tenant,
                   time.monotonic() + invoke.timeout_ms / 1000, invoke.depth)


def current() -> Context | None:
    """The invocation this code runs in, if any (the SDK reads its depth from here)."""
    return _current.get()


def activate(context: Context) -> contextvars.Token[Context | None]:
    return _current.set(context)


def deactivate(token: contextvars.Token[Context | None]) -> None:
    _current.reset(token)


MAX_LOG_BYTES = 256 << 10  # per invocation; beyond it lines are dropped and a marker is kept


class LogRouter(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr and files each line under the current invocation.

    A context variable rather than a global buffer, so concurrent invocations in one instance
    (threads or tasks) never see each other's output.
    """

    def __init__(self, stream: str, fallback: io.TextIOBase | None) -> None:
        self._stream = stream
        self._fallback = fallback
        self.partial: dict[str, str] = {}  # request id → its unfinished line

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        context = _current.get()
        if context is None:
            if self._fallback is not None:
                return self._fallback.write(text)
            return len(text)
        buffered = self.partial.pop(context.request_id, "") + text
        *lines, rest = buffered.split("\n")
        for line in lines:
            _append(context, self._stream, line)
        if rest:
            self.partial[context.request_id] = rest
        return len(text)

    def flush_context(self, context: Context) -> None:
        rest = self.partial.pop(context.request_id, "")
        if rest:
            _append(context, self._stream, rest)


def _append(context: Context, stream: str, line: str) -> None:
    used = sum(len(r.line) for r in context.logs)
    if used + len(line) > MAX_LOG_BYTES:
        if not context.logs or context.logs[-1].line != "[yun] log output truncated":
            context.logs.append(LogRecord(stream, time.time(), "[yun] log output truncated"))
        return
    context.logs.append(LogRecord(stream, time.time(), line))
