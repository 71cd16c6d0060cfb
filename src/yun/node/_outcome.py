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


# RFC 9110: a header name is a token; a value has no control characters but tab.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def bad_response(status_code: int, headers: list[tuple[str, str]]) -> str | None:
    """Why a handler's response cannot be sent, or None. The instance runs tenant code, and
    its runtime may be tampered with: a CR or LF in a header, passed on, would let it write
    headers (or a whole second response) of its own choosing into the connection."""
    if not 100 <= status_code <= 599:
        return f"the handler returned HTTP status {status_code}, not 100..599"
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            return f"the handler returned an invalid HTTP header: {name[:100]!r}: {value[:100]!r}"
    return None
