"""The data path: `POST /fn/NAME[:ALIAS|:VERSION]` → auth → resolve → node agent → response.

A raw ASGI app rather than a framework route: this is the hot path, and every microsecond
here is added to every invocation. Its common case (key and route cached) is started without
ASGI by the gateway's HTTP protocol (`start_fast`, `_protocol.py`); both share `start`,
`response_parts` and the record.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from yun.autoscaler import function_policy
from yun.core import (
    MAX_DEPTH,
    ActivationRecord,
    InvalidRequest,
    PayloadTooLarge,
    PlatformError,
    RateLimited,
    Status,
    Version,
    YunError,
    activation_id,
    billed_ms,
    check_depth,
    error_body,
    gb_seconds,
    http_status,
)
from yun.core.manifest import instance_cpu
from yun.gateway._auth import KeyCache
from yun.gateway._quotas import QuotaBook
from yun.gateway._routes import Resolver
from yun.metering import Recorder
from yun.node import NodeAgent, Outcome, VersionPool, has_body, throttled
from yun.protocol import Invoke
from yun.queue import Submitter
from yun.sandbox import TemplateSpec
from yun.store import LogLine

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

DEFAULT_UID = 100000  # the default tenant's; each tenant gets its own from the store
MAX_BODY = 6 << 20  # 6 MiB, as Lambda's synchronous payload limit
ASYNC_SUFFIX = "/async"
MAX_IDEMPOTENCY_KEY = 255
_json = msgspec.json.Encoder()
_valid_json = msgspec.json.Decoder(msgspec.Raw)  # checks the syntax, builds no objects


class Deployments:
    """Maps a version to its pool on this node, building the sandbox spec once."""

    def __init__(self, node: NodeAgent, code_root: Path, layer_root: Path,
                 uid_for: Callable[[str], int] = lambda _tenant: DEFAULT_UID) -> None:
        self.node = node
        self.uid_for = uid_for
        self.code_root = code_root
        self.layer_root = layer_root

    def pool(self, tenant: str, version: Version) -> VersionPool:
        key = pool_key(tenant, version.function, version.number)
        existing = self.node.pools.get(key)
        if existing is not None:
            return existing
        manifest = version.manifest
        spec = TemplateSpec(
            key=key.replace("/", "."),
            code_dir=str(self.code_root / version.code_hash),
            layer_dir=str(self.layer_root / version.layer_hash) if version.layer_hash else None,
            handler=manifest.handler,
            env=dict(manifest.env),
            network=manifest.network.value,
            hostname=manifest.name,
            memory_mb=manifest.memory,
            concurrency=manifest.concurrency,
            uid=self.uid_for(tenant),
            max_instances=manifest.scale.max,
            tenant=tenant,
            cpu=instance_cpu(manifest),
            tier=manifest.sandbox.value,
        )
        return self.node.pool(key, spec, function_policy(manifest.scale), manifest.concurrency)


def pool_key(tenant: str, function: str, number: int) -> str:
    return f"{tenant}/{function}@{number}"


@dataclass(frozen=True)
class Invoked:
    request_id: str
    version: Version
    outcome: Outcome
    recorded: asyncio.Future[bool]  # True once the activation record is durable


class InvokeApp:
    def __init__(self, keys: KeyCache, resolver: Resolver, deployments: Deployments,
                 recorder: Recorder, max_wait: float = 30.0,
                 quotas: QuotaBook | None = None) -> None:
        self.keys = keys
        self.quotas = quotas
        self.resolver = resolver
        self.deployments = deployments
        self.recorder = recorder
        self.max_wait = max_wait
        self._waiting_records: set[asyncio.Task[object]] = set()  # see `record_soon`
        # Set by the platform once the queue is open: enables `POST /fn/NAME/async`.
        self.submit: Submitter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wall_start = time.time()
        try:
            if scope["method"] != "POST":
                await reply(send, 405, error_body(InvalidRequest(
                    f"invoke with POST, was: {scope['method']}")), [(b"allow", b"POST")])
                return
            headers = dict(scope["headers"])
            key = await self.keys.authenticate(_text(headers.get(b"authorization")))
            depth = _depth(_text(headers.get(b"x-yun-depth")))
            target = scope["path"][len("/fn/"):]
            body = await read_body(receive, headers)
            if body.strip():
                try:
                    msgspec.json.decode(body)
                except msgspec.DecodeError as exc:
                    raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
            if target.endswith(ASYNC_SUFFIX):
                target = target[:-len(ASYNC_SUFFIX)]
                await self.resolver.resolve(key.tenant, target)  # 404 before accepting
                invocation = await self._submit(key.tenant, target, body, headers, depth)
                await reply(send, 202, {"id": invocation},
                            [(b"location", f"/v1/invocations/{invocation}".encode())])
                return
            version = await self.resolver.resolve(key.tenant, target)
        except YunError as exc:
            await reply_error(send, exc)
            return
        request_id = activation_id()
        outcome = await self._run(key.tenant, version, body, request_id, depth)
        await respond(send, outcome, request_id, version)
        await self._record(outcome, request_id, key.tenant, version, wall_start)

    def start_fast(self, authorization: str | None, target: str, body: bytes,
                   done: Callable[[Started, Outcome], None]) -> Started | None:
        """`POST /fn/TARGET` with its key and route cached and a JSON body (the common case)
        started without a coroutine, for the gateway's HTTP protocol. None: anything else,
        which the ASGI path (`__call__`) serves, with its errors."""
        key = self.keys.cached(authorization)
        if key is None:
            return None
        version = self.resolver.cached(key.tenant, target)
        if version is None:
            return None
        if body.strip():
            try:
                _valid_json.decode(body)
            except msgspec.DecodeError:
                return None
        started = Started(activation_id(), key.tenant, version, time.time())
        self.start(key.tenant, version, body, started.request_id, 0,
                   functools.partial(done, started))
        return started

    async def _submit(self, tenant: str, target: str, body: bytes,
                      headers: dict[bytes, bytes], depth: int) -> str:
        if self.submit is None:
            raise PlatformError("async invocation is not running on this server")
        key = _text(headers.get(b"idempotency-key"))
        if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
            raise InvalidRequest("Idempotency-Key must be 1..255 printable characters, "
                                 f"was: {key[:300]!r}")
        # Answers only once `submit` returned: the job is stored durably by then.
        return await self.submit(tenant, target, body, "api", key, depth)

    async def invoke(self, tenant: str, target: str, body: bytes,
                     request_id: str | None = None, depth: int = 0,
                     version: Version | None = None) -> Invoked:
        """Invoke from inside the platform (flows, event sources): the same quotas, node
        path, hop limit and activation record as an HTTP call. `body` must be JSON (or
        empty); `depth` is the hops before this call (a function's call: its depth + 1).
        `version`: `target` already resolved by the caller (for `tenant`)."""
        wall_start = time.time()
        check_depth(depth)
        if version is None:
            version = await self.resolver.resolve(tenant, target)
        request_id = request_id or activation_id()
        outcome = await self._run(tenant, version, body, request_id, depth)
        recorded = await self._record(outcome, request_id, tenant, version, wall_start)
        return Invoked(request_id, version, outcome, recorded)

    async def _run(self, tenant: str, version: Version, body: bytes, request_id: str,
                   depth: int) -> Outcome:
        admitted = self._admit(tenant, version, request_id, depth)
        if isinstance(admitted, Outcome):
            return admitted
        timeout = version.manifest.timeout
        return await self.deployments.node.invoke(*admitted, body, timeout,
                                                  self._max_wait(timeout))

    def start(self, tenant: str, version: Version, body: bytes, request_id: str, depth: int,
              done: Callable[[Outcome], None]) -> None:
        """`_run` without a coroutine: `done` hears the Outcome."""
        admitted = self._admit(tenant, version, request_id, depth)
        if isinstance(admitted, Outcome):
            done(admitted)
            return
        timeout = version.manifest.timeout
        self.deployments.node.call(*admitted, body, timeout, self._max_wait(timeout), done)

    def _max_wait(self, timeout: float) -> float:
        """How long a request may wait for a slot: the server's bound, or the function's
        timeout and 30 s more (a cold start) if that is shorter."""
        return min(self.max_wait, timeout + 30)

    def _admit(self, tenant: str, version: Version, request_id: str,
               depth: int) -> Outcome | tuple[VersionPool, Invoke]:
        """The tenant's rate quota, then the version's pool and the invocation to send."""
        refusal = self.quotas.check_invoke(tenant, time.monotonic()) if self.quotas else None
        if refusal is not None:
            return throttled(refusal.message, refusal.quota, refusal.status,
                             refusal.retry_after or 1.0)
        manifest = version.manifest
        return self.deployments.pool(tenant, version), Invoke(
            id=request_id, timeout_ms=int(manifest.timeout * 1000), function=version.function,
            version=version.number, memory_mb=manifest.memory, tenant=tenant, depth=depth)

    async def _record(self, outcome: Outcome, request_id: str, tenant: str, version: Version,
                      wall_start: float) -> asyncio.Future[bool]:
        return await self.recorder.record(*_activation(outcome, request_id, tenant, version,
                                                       wall_start))

    def record_soon(self, started: Started, outcome: Outcome) -> asyncio.Task[object] | None:
        """Hand the record to the recorder without waiting (the fast path's `_record`).
        None once it is queued; while the recorder's queue is full, the task that waits for
        room, and the caller holds its connection's next request until it is done (so what
        waits is bounded by the connections, as on the ASGI path)."""
        record, logs = _activation(outcome, started.request_id, started.tenant,
                                   started.version, started.wall_start)
        if self.recorder.add(record, logs):
            return None
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            self.recorder.record(record, logs))
        self._waiting_records.add(task)  # kept from the collector until it is queued
        task.add_done_callback(self._waiting_records.discard)
        return task


@dataclass(slots=True)  # not frozen: its __init__ would set each field through object
class Started:
    """An invocation the fast path started: what its response and record need."""

    request_id: str
    tenant: str
    version: Version
    wall_start: float


def _activation(outcome: Outcome, request_id: str, tenant: str, version: Version,
                wall_start: float) -> tuple[ActivationRecord, list[LogLine]]:
    memory = version.manifest.memory
    billed = billed_ms(outcome.duration_ms) if outcome.status != Status.THROTTLED else 0
    # Positional, in the record's field order: with keywords it took 2.5x as long.
    record = ActivationRecord(
        request_id, tenant, version.function, version.number, wall_start, time.time(),
        outcome.duration_ms, outcome.init_ms, outcome.wait_ms, memory, outcome.max_rss_mb,
        outcome.status, billed, gb_seconds(billed, memory), outcome.error_type,
        outcome.error_message, outcome.traceback)
    logs = [LogLine(seq=0, activation_id=request_id, tenant=tenant, function=version.function,
                    stream=r.stream, time=r.time, line=r.line)
            for r in outcome.logs] if outcome.logs else []
    return record, logs


def success_head(headers: list[tuple[str, str]], request_id: str, number: int) -> bytes:
    """The headers of a successful call's response (the handler's `headers`, of version
    `number`), each line ending in CR LF, without content-length: `response_parts` for the
    common case, as one string encoded once."""
    own = "".join([f"{k}: {v}\r\n" for k, v in headers if k not in _FRAMING])
    return f"x-yun-activation-id: {request_id}\r\nx-yun-version: {number}\r\n{own}".encode()


def response_parts(outcome: Outcome, request_id: str, version: Version,
                   extra: list[tuple[bytes, bytes]] | None = None
                   ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """An invocation's outcome as status, headers and body (without content-length)."""
    headers = [(b"x-yun-activation-id", request_id.encode()),
               (b"x-yun-version", str(version.number).encode()), *(extra or [])]
    if outcome.status == Status.SUCCESS:
        headers.extend((k.encode(), v.encode()) for k, v in outcome.headers
                       if k not in _FRAMING)
        return outcome.status_code, headers, outcome.body
    if outcome.status != Status.THROTTLED:
        headers.append((b"x-yun-function-error", outcome.status.value.encode()))
    headers.extend((k.encode(), v.encode()) for k, v in outcome.headers if k == "retry-after")
    payload = {"error": {"type": outcome.error_type or outcome.status.value,
                         "message": outcome.error_message or "",
                         "status": outcome.status.value,
                         "activation_id": request_id}}
    status = (outcome.status_code if outcome.status == Status.THROTTLED
              else _ERROR_STATUS.get(outcome.status, outcome.status_code))
    headers.append((b"content-type", b"application/json"))
    return status, headers, _json.encode(payload)


async def respond(send: Send, outcome: Outcome, request_id: str, version: Version,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """An invocation's outcome as the HTTP response (also the HTTP routes' response)."""
    status, headers, body = response_parts(outcome, request_id, version, extra)
    await _send(send, status, body, headers)


_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})

# A handler exception is a 500 of the function, distinct from the platform's 502/503/504.
_ERROR_STATUS = {Status.ERROR: 500, Status.TIMEOUT: 504, Status.OOM: 502, Status.CRASHED: 502}


async def read_body(receive: Receive, headers: dict[bytes, bytes]) -> bytes:
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"request body of {int(declared)} bytes exceeds the 6 MiB limit")
    message = await receive()
    chunk: bytes = message.get("body", b"")
    if not message.get("more_body") and len(chunk) <= MAX_BODY:
        return chunk  # the usual case: the whole body in one message
    chunks: list[bytes] = []
    size = 0
    while True:
        if chunks:
            message = await receive()
            chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"request body exceeds the 6 MiB limit ({size}+ bytes)")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def reply(send: Send, status: int, payload: object,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await _send(send, status, _json.encode(payload),
                [(b"content-type", b"application/json"), *(extra or [])])


async def reply_error(send: Send, exc: YunError,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """The error's status and JSON body; a rate limit also says when to come back."""
    retry = ([(b"retry-after", str(max(1, math.ceil(exc.retry_after))).encode())]
             if isinstance(exc, RateLimited) else [])
    await reply(send, http_status(exc), error_body(exc), [*retry, *(extra or [])])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    length = [(b"content-length", str(len(body)).encode())] if has_body(status) else []
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *length]})
    await send({"type": "http.response.body", "body": body})


def _depth(header: str | None) -> int:
    """The hops before this call, from `X-Yun-Depth` (absent: 0, a call from outside)."""
    if header is None:
        return 0
    if not (header.isascii() and header.isdigit() and len(header) <= 6):
        raise InvalidRequest(f"X-Yun-Depth must be a whole number 0..{MAX_DEPTH - 1}, "
                             f"was: {header!r}")
    depth = int(header)
    check_depth(depth)
    return depth


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
