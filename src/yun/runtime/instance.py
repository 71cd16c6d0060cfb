"""An instance: serves invocations for one function on one socket until the node closes it.

A plain function runs on `concurrency` threads (`_workers.py`); an `async def` handler on
an event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import inspect
import os
import resource
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import NoReturn

import msgspec

from yun.protocol import Frame, FrameSplitter, Invoke, Result, encode
from yun.runtime._context import (
    Context,
    LogRouter,
    activate,
    context_for,
    deactivate,
    use_host,
)
from yun.runtime._host import HostClient
from yun.runtime._workers import Workers

MAX_RESULT = 6 << 20  # the response limit matches the request limit (6 MiB)

_json = msgspec.json.Encoder()
_routers: tuple[LogRouter, LogRouter] | None = None


def serve(sock: socket.socket, handler: Callable[..., object], concurrency: int,
          host: socket.socket | None = None) -> None:
    global _routers
    _no_wakeup_preemption()
    use_host(HostClient(host) if host is not None else None)
    _routers = (LogRouter("stdout", None), LogRouter("stderr", None))
    sys.stdout, sys.stderr = _routers
    if inspect.iscoroutinefunction(handler):
        asyncio.run(_serve_async(sock, handler))
    else:
        Workers(sock, functools.partial(_run, handler)).serve(concurrency)


def _no_wakeup_preemption() -> None:
    """SCHED_BATCH: a frame arriving does not preempt whoever runs on the core (the gateway,
    mostly) at once; the instance runs when the core is next free (the gateway waits for
    replies in its event loop) or at the next tick. On a shared core the gateway then sends
    every frame of a pass, to every instance, before one runs, and each instance answers
    its whole batch in one go: 1.2x the throughput at 64 connections, with the same latency
    at one. Priority among tenants is the CPU groups' (`cpu.idle` for CPU-bound ones)."""
    with contextlib.suppress(OSError, AttributeError):  # a sandbox kernel may refuse it
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def _run(handler: Callable[..., object], frame: Frame) -> bytes | None:
    """Run one invocation frame; its reply frame."""
    message, body = frame
    if not isinstance(message, Invoke):
        return None
    context = context_for(message)
    token = activate(context)
    started = time.perf_counter()
    try:
        result = _call(handler, body, context)
    except SystemExit as exc:  # the instance ends, as it would with one thread (a worker
        _end(exc)              # thread would end alone, its call unanswered)
    finally:
        deactivate(token)
    return _reply(context, result, started)


def _reply(context: Context, result: _Outcome, started: float) -> bytes:
    """The reply frame; an answer that cannot be encoded (a lone surrogate, say) is the
    handler's error."""
    try:
        header, payload = _finish(context, result, started)
        return encode(header, payload)
    except Exception as exc:
        return encode(Result(id=context.request_id, ok=False, status_code=500,
                             error_type=type(exc).__name__, error_message=_printable(str(exc)),
                             duration_ms=(time.perf_counter() - started) * 1000), b"")


def _end(exc: SystemExit) -> NoReturn:
    """End the instance at once with the `SystemExit`'s code (1 if it is not a number);
    the node agent reports its calls `crashed`."""
    os._exit(exc.code if isinstance(exc.code, int) else 1)


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def _serve_async(sock: socket.socket, handler: Callable[..., object]) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    tasks: set[asyncio.Task[None]] = set()

    async def run(message: Invoke, body: bytes) -> None:
        context = context_for(message)
        started = time.perf_counter()
        token = activate(context)
        try:
            result = await _call_async(handler, body, context)
        except SystemExit as exc:
            _end(exc)
        finally:
            deactivate(token)
        writer.write(_reply(context, result, started))

    splitter = FrameSplitter()
    while True:
        data = await reader.read(256 << 10)
        if not data:
            return
        for message, body in splitter.feed(data):
            if isinstance(message, Invoke):
                # owned by `tasks`, ends with the loop
                task = asyncio.create_task(run(message, body))
                tasks.add(task)
                task.add_done_callback(tasks.discard)


_Outcome = tuple[bool, object]


def _call(handler: Callable[..., object], body: bytes, context: Context) -> _Outcome:
    try:
        return True, handler(_event(body, context), context)
    except Exception as exc:
        return False, exc


async def _call_async(handler: Callable[..., object], body: bytes, context: Context) -> _Outcome:
    try:
        return True, await handler(_event(body, context), context)  # type: ignore[misc]
    except Exception as exc:
        return False, exc


def _event(body: bytes, context: Context) -> object:
    event = msgspec.json.decode(body) if body else {}
    if isinstance(event, dict) and "yuntrigger" in event:
        with contextlib.suppress(KeyError, TypeError, ValueError):  # not ours after all
            context.origin = (str(event["yuntrigger"]), int(event["yundepth"]))
    return event


def _finish(context: Context, outcome: _Outcome, started: float) -> tuple[Result, bytes]:
    if _routers is not None:
        for router in _routers:
            if router.partial:  # a line without its newline yet, of this call or another
                router.flush_context(context)
    duration_ms = (time.perf_counter() - started) * 1000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ok, value = outcome
    if ok:
        try:
            status, headers, payload = _response(value)
            if len(payload) > MAX_RESULT:
                raise ValueError(f"response body of {len(payload)} bytes exceeds 6 MiB")
        except Exception as bad:
            ok, value = False, bad
    if not ok:
        error = value if isinstance(value, BaseException) else RuntimeError(str(value))
        return Result(
            id=context.request_id,
            ok=False,
            status_code=500,
            error_type=type(error).__name__,
            error_message=str(error),
            traceback="".join(traceback.format_exception(error)),
            logs=context.logs,
            max_rss_kb=rss,
            duration_ms=duration_ms,
        ), b""
    return Result(
        id=context.request_id,
        ok=True,
        status_code=status,
        headers=headers,
        logs=context.logs,
        max_rss_kb=rss,
        duration_ms=duration_ms,
    ), payload


_JSON = [("content-type", "application/json")]


def _response(value: object) -> tuple[int, list[tuple[str, str]], bytes]:
    """A plain value is JSON with 200; `{"statusCode", "headers", "body"}` is the full response."""
    if isinstance(value, dict) and "statusCode" in value:
        status = value["statusCode"]
        if not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"statusCode must be an integer 200..599, was: {status!r}")
        raw_headers = value.get("headers") or {}
        if not isinstance(raw_headers, dict):
            raise ValueError(f"headers must be a mapping, was: {raw_headers!r}")
        headers = [(str(k).lower(), str(v)) for k, v in raw_headers.items()]
        body = value.get("body", b"")
        if isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = base64.b64decode(body) if value.get("isBase64Encoded") else body.encode()
            if not any(k == "content-type" for k, _ in headers):
                headers.append(("content-type", "text/plain; charset=utf-8"))
        else:
            payload = _json.encode(body)
            if not any(k == "content-type" for k, _ in headers):
                headers.extend(_JSON)
        return status, headers, payload
    try:
        return 200, _JSON, _json.encode(value)
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"handler result is not JSON-serialisable: {exc}") from exc
