"""What the node agent answers for one invocation: how it ended, and the response to send."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from yun.core import Status
from yun.protocol import LogRecord


@dataclass(slots=True)
class Outcome:
    status: Status
    status_code: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    logs: list[LogRecord] = field(default_factory=list)
    init_ms: float = 0.0
    wait_ms: float = 0.0
    duration_ms: float = 0.0
    max_rss_mb: float = 0.0
    instance: str | None = None


def throttled(message: str, error_type: str, status_code: int, retry_after: float) -> Outcome:
    """Refused before running: buffers full (503), or a tenant's quota (429)."""
    return Outcome(status=Status.THROTTLED, status_code=status_code,
                   headers=[("retry-after", str(max(1, math.ceil(retry_after))))],
                   error_type=error_type, error_message=message)


# RFC 9110: a header name is a token (the runtime sends them lower-case, and the gateway's
# framing filter compares lower-case names); a value has no control characters but tab.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NO_BODY = (204, 304)  # statuses whose response has no body (RFC 9110)


def bad_response(status_code: int, headers: list[tuple[str, str]], body: bytes) -> str | None:
    """Why an instance's answer cannot be sent, or None. The instance runs tenant code, and
    its runtime may be tampered with: a CR or LF in a header, an upper-case framing header
    that slips past the filter, or a body after a status that has none, passed on, would let
    it write headers (or a whole second response) of its own choosing into the connection."""
    if not 200 <= status_code <= 599:
        return f"the handler returned HTTP status {status_code}, not 200..599"
    if status_code in _NO_BODY and body:
        return f"the handler returned a body with HTTP status {status_code}, which has none"
    for header in headers:
        if header in _GOOD_HEADERS:
            continue
        name, value = header
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            return f"the handler returned an invalid HTTP header: {name!r:.100}: {value!r:.100}"
        if len(_GOOD_HEADERS) >= _GOOD_HEADERS_KEPT:
            _GOOD_HEADERS.clear()
        _GOOD_HEADERS.add(header)
    return None


# Headers already found good: a function answers with the same few nearly every time, and a
# set lookup costs less than the two regular expressions (bounded: cleared when full).
_GOOD_HEADERS: set[tuple[str, str]] = set()
_GOOD_HEADERS_KEPT = 1024


def has_body(status_code: int) -> bool:
    """Whether a response with this status carries a body (and a content-length)."""
    return status_code not in _NO_BODY
