"""What a handler may ask the platform to do through host calls, always as its own tenant:
invoke its tenant's functions (hops counted, so a loop ends), and more as they are registered
(buckets)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from yun.core import InvalidRequest
from yun.core.errors import Forbidden
from yun.gateway import InvokeApp
from yun.node import HostRequest

MAX_DEPTH = 16  # a chain of functions invoking functions longer than this is a loop

Op = Callable[[HostRequest, bytes], Awaitable[tuple[object, bytes]]]


class HostOps:
    def __init__(self, invoker: InvokeApp) -> None:
        self._invoker = invoker
        self._ops: dict[str, Op] = {"function.invoke": self._invoke}
        # invocation id → how many host-call hops led to it; only chains in flight are here.
        self._depth: dict[str, int] = {}

    def register(self, name: str, op: Op) -> None:
        self._ops[name] = op

    async def __call__(self, request: HostRequest, body: bytes) -> tuple[object, bytes]:
        op = self._ops.get(request.op)
        if op is None:
            raise InvalidRequest(f"unknown host call {request.op!r}; known: "
                                 f"{', '.join(sorted(self._ops))}")
        return await op(request, body)

    def depth(self, request_id: str) -> int:
        return self._depth.get(request_id, 0)

    async def _invoke(self, request: HostRequest, body: bytes) -> tuple[object, bytes]:
        target = _text(request, "target")
        depth = self.depth(request.request_id) + 1
        if depth > MAX_DEPTH:
            raise Forbidden(f"invoking {target!r} from {request.function!r} would be hop "
                            f"{depth} of a chain of invocations; the limit is {MAX_DEPTH}")
        child = os.urandom(16).hex()
        self._depth[child] = depth
        try:
            invoked = await self._invoker.invoke(request.tenant, target, body, request_id=child)
        finally:
            del self._depth[child]
        outcome = invoked.outcome
        value = {"id": invoked.request_id, "status": outcome.status.value,
                 "status_code": outcome.status_code, "version": invoked.version.number,
                 "message": outcome.error_message}
        return value, outcome.body


def _text(request: HostRequest, name: str) -> str:
    value = request.args.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"host call {request.op!r} needs {name!r} (a non-empty string), "
                             f"got {value!r}")
    return value
