"""HTTP routes: `METHOD /r/<tenant>/<path>` → the function whose `http` trigger matches.

Synchronous, through `InvokeApp.invoke` (same quotas, node path and records as `/fn/`); the
handler gets the HTTP event (`yun.events.http_event`). A route that is missing, belongs to
another tenant, or whose tenant does not exist answers the same 404, so routes do not reveal
which tenants exist.
"""

from __future__ import annotations

import json

from yun.core import InvalidRequest, NotFound, YunError, activation_id, error_body
from yun.core.types import Cors, RouteAuth
from yun.events import RouteTable, from_http, http_event
from yun.gateway._auth import KeyCache
from yun.gateway._invoke import (
    InvokeApp,
    Receive,
    Scope,
    Send,
    read_body,
    reply,
    reply_error,
    respond,
)

PREFIX = "/r/"


class RouteApp:
    def __init__(self, keys: KeyCache, invoker: InvokeApp) -> None:
        self.keys = keys
        self.invoker = invoker
        self._tables: dict[str, RouteTable] = {}

    def set_routes(self, tenant: str, table: RouteTable) -> None:
        """Replace the tenant's routes (after a deploy or removal)."""
        if table:
            self._tables[tenant] = table
        else:
            self._tables.pop(tenant, None)

    def routes(self, tenant: str) -> RouteTable | None:
        return self._tables.get(tenant)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant, _, rest = scope["path"][len(PREFIX):].partition("/")
        path, method = "/" + rest, scope["method"]
        headers = dict(scope["headers"])
        table = self._tables.get(tenant)
        origin = headers.get(b"origin")
        cors = table.cors(path) if table is not None and origin else None
        allow = _allow_origin(cors, origin)
        try:
            if method == "OPTIONS" and origin and b"access-control-request-method" in headers:
                if table is None or not table.methods(path):
                    raise _no_route(method, path)
                await _preflight(send, cors, allow, table.methods(path))
                return
            found = table.match(method, path) if table is not None else None
            if found is None:
                methods = table.methods(path) if table is not None else ()
                if methods:
                    allowed = ", ".join(methods).encode()
                    await reply(send, 405, error_body(InvalidRequest(
                        f"route {path} does not accept {method}; it accepts "
                        f"{', '.join(methods)}")), [(b"allow", allowed)])
                    return
                raise _no_route(method, path)
            if found.trigger.auth == RouteAuth.KEY:
                key = await self.keys.authenticate(_text(headers.get(b"authorization")))
                if key.tenant != tenant:
                    raise _no_route(method, path)
            elif await self.keys.active_tenant(tenant) is None:
                raise _no_route(method, path)
            body = await read_body(receive, headers)
            lowered = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope["headers"]}
            request_id = activation_id()
            client = scope.get("client")
            event = http_event(
                method=method, path=path, route=found.trigger.path, params=found.params,
                query_string=scope.get("query_string", b""), headers=scope["headers"],
                body=body, request_id=request_id, tenant=tenant,
                source_ip=client[0] if client else None,
                cloudevent=from_http(lowered, body))
            invoked = await self.invoker.invoke(tenant, found.function,
                                                json.dumps(event).encode(), request_id)
        except YunError as exc:
            await reply_error(send, exc, allow)
            return
        await respond(send, invoked.outcome, request_id, invoked.version, allow)


def _no_route(method: str, path: str) -> NotFound:
    return NotFound(f"no route {method} {path}")


def _allow_origin(cors: Cors | None, origin: bytes | None) -> list[tuple[bytes, bytes]]:
    """The CORS response headers for `origin`, or none when the route does not allow it."""
    if cors is None or origin is None:
        return []
    if "*" in cors.origins:
        return [(b"access-control-allow-origin", b"*")]
    if origin.decode("latin-1") in cors.origins:
        return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
    return []


async def _preflight(send: Send, cors: Cors | None, allow: list[tuple[bytes, bytes]],
                     methods: tuple[str, ...]) -> None:
    headers = list(allow)
    if cors is not None and allow:
        listed = "*" if "ANY" in methods else ", ".join(methods)
        headers += [(b"access-control-allow-methods", listed.encode()),
                    (b"access-control-allow-headers", ", ".join(cors.headers).encode()),
                    (b"access-control-max-age", str(cors.max_age).encode())]
    await send({"type": "http.response.start", "status": 204,
                "headers": [*headers, (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
