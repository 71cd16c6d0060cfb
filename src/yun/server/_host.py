"""What a handler may ask the platform to do through host calls, always as its own tenant:
invoke its tenant's functions (one hop further than the caller, so a loop ends) and use its
tenant's buckets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from yun.core import InvalidRequest
from yun.core.errors import PayloadTooLarge
from yun.gateway import InvokeApp
from yun.node import HostRequest
from yun.queue import Submitter
from yun.storage import Buckets, ObjectInfo, Origin
from yun.storage._buckets import DEFAULT_CONTENT_TYPE

# Objects pass through host calls whole, in one frame: larger ones go through the HTTP API.
MAX_HOST_OBJECT = 32 << 20

Op = Callable[[HostRequest, bytes], Awaitable[tuple[object, bytes]]]


class HostOps:
    def __init__(self, invoker: InvokeApp) -> None:
        self._invoker = invoker
        self._ops: dict[str, Op] = {"function.invoke": self._invoke}

    def register(self, name: str, op: Op) -> None:
        self._ops[name] = op

    def serve_async(self, submitter: Submitter) -> None:
        """`context.invoke_async`: queue an invocation of a function of the same tenant."""

        async def invoke_async(request: HostRequest, body: bytes) -> tuple[object, bytes]:
            target = _text(request, "target")
            await self._invoker.resolver.resolve(request.tenant, target)  # NotFound now
            return await submitter(request.tenant, target, body, "function", None,
                                   request.depth + 1), b""

        self.register("function.invoke_async", invoke_async)

    def serve_buckets(self, buckets: Buckets) -> None:
        """`context.buckets` in handlers: the function's own tenant's buckets."""
        for name, op in _bucket_ops(buckets).items():
            self.register(name, op)

    async def __call__(self, request: HostRequest, body: bytes) -> tuple[object, bytes]:
        op = self._ops.get(request.op)
        if op is None:
            raise InvalidRequest(f"unknown host call {request.op!r}; known: "
                                 f"{', '.join(sorted(self._ops))}")
        return await op(request, body)

    async def _invoke(self, request: HostRequest, body: bytes) -> tuple[object, bytes]:
        # One hop further than the caller: InvokeApp refuses a chain past its limit.
        invoked = await self._invoker.invoke(request.tenant, _text(request, "target"), body,
                                             depth=request.depth + 1)
        outcome = invoked.outcome
        value = {"id": invoked.request_id, "status": outcome.status.value,
                 "status_code": outcome.status_code, "version": invoked.version.number,
                 "message": outcome.error_message}
        return value, outcome.body


def _bucket_ops(buckets: Buckets) -> dict[str, Op]:
    async def get(request: HostRequest, body: bytes) -> tuple[object, bytes]:
        bucket, key = _text(request, "bucket"), _text(request, "key")
        info = await buckets.head(request.tenant, bucket, key)
        if info.size > MAX_HOST_OBJECT:
            raise PayloadTooLarge(f"object {bucket}/{key} has {info.size} bytes; context.buckets "
                                  f"reads at most {MAX_HOST_OBJECT} (use the HTTP API)")
        info, chunks = await buckets.get(request.tenant, bucket, key)
        return _info(info), b"".join([chunk async for chunk in chunks])

    async def put(request: HostRequest, body: bytes) -> tuple[object, bytes]:
        bucket, key = _text(request, "bucket"), _text(request, "key")
        if len(body) > MAX_HOST_OBJECT:
            raise PayloadTooLarge(f"object {bucket}/{key} of {len(body)} bytes; context.buckets "
                                  f"writes at most {MAX_HOST_OBJECT} (use the HTTP API)")
        content_type = request.args.get("content_type")
        trigger, depth = request.args.get("trigger"), request.args.get("depth")
        # The bucket event that started this invocation, carried on so the loop guard sees
        # a function writing into the bucket that triggers it.
        origin = (Origin(trigger, depth) if isinstance(trigger, str) and isinstance(depth, int)
                  else None)
        info = await buckets.put(request.tenant, bucket, key, body, origin=origin,
                                 content_type=(content_type if isinstance(content_type, str)
                                               else DEFAULT_CONTENT_TYPE))
        return _info(info), b""

    async def delete(request: HostRequest, body: bytes) -> tuple[object, bytes]:
        info = await buckets.delete(request.tenant, _text(request, "bucket"),
                                    _text(request, "key"))
        return _info(info), b""

    async def list_(request: HostRequest, body: bytes) -> tuple[object, bytes]:
        prefix, limit = request.args.get("prefix") or "", request.args.get("limit") or 1000
        if not isinstance(prefix, str) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest(f"bucket.list needs a text prefix and a positive limit, got "
                                 f"{prefix!r} and {limit!r}")
        listing = await buckets.list(request.tenant, _text(request, "bucket"), prefix=prefix,
                                     limit=min(limit, 1000))
        return [_info(info) for info in listing.objects], b""

    return {"bucket.get": get, "bucket.put": put, "bucket.delete": delete,
            "bucket.list": list_}


def _info(info: ObjectInfo) -> dict[str, object]:
    return {"bucket": info.bucket, "key": info.key, "size": info.size, "etag": info.etag,
            "content_type": info.content_type, "modified": info.modified}


def _text(request: HostRequest, name: str) -> str:
    value = request.args.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"host call {request.op!r} needs {name!r} (a non-empty string), "
                             f"got {value!r}")
    return value
