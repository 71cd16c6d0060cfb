"""The event an HTTP route's handler receives: shaped like API Gateway's proxy event."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import parse_qsl

from yun.events._cloudevents import CloudEvent

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded",
               "application/javascript")


def http_event(*, method: str, path: str, route: str, params: dict[str, str],
               query_string: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes,
               request_id: str, tenant: str, source_ip: str | None,
               cloudevent: CloudEvent | None = None) -> dict[str, object]:
    """`body` is text when it is declared (or sniffed as) UTF-8 text, else base64 with
    `isBase64Encoded: true`. Repeated headers and query keys are joined by commas, as
    API Gateway does; `multiValueQuery` keeps every value."""
    merged: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    query: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        multi.setdefault(key, []).append(value)
        query[key] = value
    text, encoded = _body(body, merged.get("content-type", ""))
    event: dict[str, object] = {
        "method": method, "path": path, "route": route, "params": params, "query": query,
        "multiValueQuery": multi, "headers": merged, "body": text, "isBase64Encoded": encoded,
        "requestContext": {"requestId": request_id, "tenant": tenant, "sourceIp": source_ip},
    }
    if cloudevent is not None:
        event["cloudevent"] = cloudevent.to_dict()
    return event


def _body(body: bytes, content_type: str) -> tuple[str | None, bool]:
    if not body:
        return None, False
    media = content_type.split(";")[0].strip().lower()
    if not media or media.startswith(_TEXT_TYPES) or media.endswith("+json"):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True
