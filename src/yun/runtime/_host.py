"""Host calls: how a handler asks the platform to act for it (its tenant's buckets, invoking
another function) without any network. Each instance has a second socket to the node agent
for these; the agent answers only while the asking invocation is in flight, and only within
the function's tenant."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
from typing import Any

import msgspec

from yun.protocol import HostCall, HostReply, read_frame, send_frame

_json = msgspec.json.Encoder()

Args = dict[str, str | int | bool | None]


class HostError(Exception):
    """The platform refused or failed a host call; `kind` says how ("Invalid", "Refused", ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class NotFound(HostError, LookupError):
    """The bucket, object or function does not exist (or belongs to another tenant)."""


class HostClient:
    """One per instance, shared by its handler threads. Calls are answered in any order (a
    call may wait on a nested invocation that lands on this very instance), so replies are
    matched by id: whichever waiting thread is reading hands the others theirs."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._reading = False
        self._replies: dict[int, tuple[HostReply, bytes]] = {}

    def call(self, request_id: str, op: str, args: Args, body: bytes = b"") -> tuple[Any, bytes]:
        if _in_event_loop():
            # Blocking here would stall every invocation on this instance's loop, and a
            # nested invocation landing on it could never be answered.
            raise HostError("Blocking", f"host call {op!r} blocks; from an async handler call "
                            "it through `await asyncio.to_thread(...)`")
        with self._cond:
            call_id = next(self._ids)
            send_frame(self._sock, HostCall(id=call_id, request_id=request_id, op=op, args=args),
                       body)
            while call_id not in self._replies:
                if self._reading:
                    self._cond.wait()
                    continue
                self._reading = True
                self._cond.release()
                try:
                    reply, payload = read_frame(self._sock)
                finally:
                    self._cond.acquire()
                    self._reading = False
                    self._cond.notify_all()
                if not isinstance(reply, HostReply):
                    raise HostError("Protocol", f"unexpected answer to host call {op!r}")
                self._replies[reply.id] = (reply, payload)
            reply, payload = self._replies.pop(call_id)
        if not reply.ok:
            kind = reply.error_type or "Error"
            cls = NotFound if kind == "NotFound" else HostError
            raise cls(kind, reply.message or f"host call {op!r} failed")
        return reply.value, payload


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Buckets:
    """`context.buckets`: the function's tenant's buckets."""

    def __init__(self, client: HostClient, request_id: str,
                 origin: tuple[str, int] | None = None) -> None:
        self._client = client
        self._request_id = request_id
        self._origin = origin

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes; NotFound when it does not exist."""
        _, body = self._client.call(self._request_id, "bucket.get",
                                    {"bucket": bucket, "key": key})
        return body

    def put(self, bucket: str, key: str, data: bytes | str,
            content_type: str | None = None) -> dict[str, Any]:
        """Store `data` under `key`; returns the object's metadata (etag, size, ...)."""
        raw = data.encode() if isinstance(data, str) else bytes(data)
        trigger, depth = self._origin or (None, None)
        value, _ = self._client.call(self._request_id, "bucket.put",
                                     {"bucket": bucket, "key": key, "content_type": content_type,
                                      "trigger": trigger, "depth": depth}, raw)
        return dict(value)

    def delete(self, bucket: str, key: str) -> None:
        self._client.call(self._request_id, "bucket.delete", {"bucket": bucket, "key": key})

    def list(self, bucket: str, prefix: str = "", limit: int = 1000) -> list[dict[str, Any]]:
        """Objects under `prefix` (metadata only), in key order, at most `limit`."""
        value, _ = self._client.call(self._request_id, "bucket.list",
                                     {"bucket": bucket, "prefix": prefix, "limit": limit})
        return list(value)


def invoke(client: HostClient, request_id: str, target: str, event: object,
           asynchronous: bool) -> Any:
    """Invoke another function of the same tenant (the platform counts the hops)."""
    op = "function.invoke_async" if asynchronous else "function.invoke"
    payload = b"" if event is None else _json.encode(event)  # no event: the handler gets {}
    value, body = client.call(request_id, op, {"target": target}, payload)
    if asynchronous:
        return value  # the invocation id
    if value.get("status") != "success":
        raise HostError(str(value.get("status")), str(value.get("message") or
                        f"{target} ended with status {value.get('status')}"))
    return msgspec.json.decode(body) if body else None
