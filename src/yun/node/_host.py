"""The node agent's side of host calls: read an instance's calls, check they come from an
invocation in flight on it, hand them to the platform, answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Container, Mapping
from dataclasses import dataclass

from yun.core import YunError
from yun.protocol import PREFIX, HostCall, HostReply, decode_header, encode, parse_prefix

log = logging.getLogger("yun.node")

# Host calls of one instance answered at once; its handlers send one per thread or task, so
# more means a handler is flooding the agent without reading the answers.
MAX_HOST_CALLS = 64


@dataclass(frozen=True, slots=True)
class HostRequest:
    """One host call, with who asked: the platform acts as this tenant, never another."""

    tenant: str
    function: str
    version: int
    request_id: str  # the invocation that asked (in flight on the asking instance)
    depth: int  # hops of functions invoking functions behind that invocation
    op: str
    args: dict[str, str | int | bool | None]


# (request, payload) → (JSON-like value, payload); raises YunError for a refusal.
HostHandler = Callable[[HostRequest, bytes], Awaitable[tuple[object, bytes]]]


async def serve_host(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     owner: str, inflight: Container[str], depths: Mapping[str, int],
                     handler: HostHandler) -> None:
    """Answer host calls until EOF, each in its own task: one may wait on an invocation whose
    own host calls arrive on this same socket.

    `owner` is the pool key "tenant/function@version"; `inflight` the instance's pending
    invocation ids, `depths` the hops behind those that have any."""
    tenant, _, rest = owner.partition("/")
    function, _, version = rest.rpartition("@")
    tasks: set[asyncio.Task[None]] = set()

    async def answer(call: HostCall, body: bytes) -> None:
        depth = depths.get(call.request_id, 0)
        reply, payload = await _answer(call, body, tenant, function, int(version), depth,
                                       inflight, handler)
        if not writer.is_closing():
            writer.write(encode(reply, payload))

    try:
        while True:
            head_len, body_len = parse_prefix(await reader.readexactly(PREFIX.size))
            call = decode_header(await reader.readexactly(head_len))
            body = await reader.readexactly(body_len) if body_len else b""
            if not isinstance(call, HostCall):
                return  # not a host call: the instance is misbehaving, stop listening
            if len(tasks) >= MAX_HOST_CALLS:
                writer.write(encode(HostReply(
                    id=call.id, ok=False, error_type="Refused",
                    message=f"{MAX_HOST_CALLS} host calls of this instance are already in "
                            "flight; wait for their answers")))
                continue
            task = asyncio.create_task(answer(call, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
        for task in tasks:  # nobody is left to read their answers
            task.cancel()


async def _answer(call: HostCall, body: bytes, tenant: str, function: str, version: int,
                  depth: int, inflight: Container[str],
                  handler: HostHandler) -> tuple[HostReply, bytes]:
    if call.request_id not in inflight:
        return HostReply(id=call.id, ok=False, error_type="Forbidden",
                         message="host calls are only answered during an invocation"), b""
    request = HostRequest(tenant, function, version, call.request_id, depth, call.op, call.args)
    try:
        value, payload = await handler(request, body)
    except YunError as exc:
        return HostReply(id=call.id, ok=False, error_type=exc.code, message=str(exc)), b""
    except Exception as exc:  # a platform bug must not hang the handler waiting for us
        log.exception("host call %s failed", call.op)
        return HostReply(id=call.id, ok=False, error_type="PlatformError",
                         message=f"host call {call.op!r} failed: {exc}"), b""
    return HostReply(id=call.id, ok=True, value=value), payload
