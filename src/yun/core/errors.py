"""The error hierarchy. Every edge (HTTP, CLI, activation status) maps these in one place.

`InvalidRequest` is never retried, `FunctionError` is the user's code failing, `PlatformError`
is ours and retriable. Messages name the thing and the bad value.
"""

from __future__ import annotations


class YunError(Exception):
    """Base of every error Yun raises on purpose."""

    code = "YunError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(YunError):
    """The caller asked for something malformed; retrying the same request cannot help."""

    code = "InvalidRequest"


class ManifestError(InvalidRequest):
    """A manifest (yun.yaml or decorator arguments) is invalid."""

    code = "ManifestError"


class BundleError(InvalidRequest):
    """An uploaded code bundle is unusable (bad archive, unsafe path, too large)."""

    code = "BundleError"


class DependencyError(InvalidRequest):
    """Installing a function's requirements failed."""

    code = "DependencyError"


class Unauthorized(YunError):
    """No API key, or a key we do not know."""

    code = "Unauthorized"


class Forbidden(YunError):
    """The caller is known but may not do this (an admin-only route, another tenant's scope).
    Never used for another tenant's things: those are `NotFound`, as if they did not exist."""

    code = "Forbidden"


class QuotaExceeded(Forbidden):
    """A tenant's quota refuses the request until usage drops or an admin raises the quota."""

    code = "QuotaExceeded"

    def __init__(self, message: str, quota: str, limit: float, value: float) -> None:
        super().__init__(message)
        self.quota = quota
        self.limit = limit
        self.value = value


class RateLimited(YunError):
    """A tenant's rate or concurrency quota refuses the request for now; retry after
    `retry_after` seconds."""

    code = "RateLimited"

    def __init__(self, message: str, quota: str, limit: float, value: float,
                 retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.quota = quota
        self.limit = limit
        self.value = value
        self.retry_after = retry_after


class NotFound(YunError):
    """A function, version, alias or record does not exist (for this caller)."""

    code = "NotFound"


class Conflict(YunError):
    """The request contradicts the current state (e.g. an alias pointing to a missing version)."""

    code = "Conflict"


class HopLimitExceeded(InvalidRequest):
    """A chain of functions invoking functions went past the hop limit (`X-Yun-Depth`);
    most likely a function invoking itself without end."""

    code = "HopLimitExceeded"


MAX_DEPTH = 16  # hops of functions invoking functions before a call is refused


def check_depth(depth: int) -> None:
    """Refuse a call that would be hop `depth` of a chain (0 = called from outside)."""
    # Without a limit a function that invokes itself would hold an instance per hop and bill
    # its tenant until a quota stopped it; the limit ends the chain with a clear error.
    if depth >= MAX_DEPTH:
        raise HopLimitExceeded(
            f"hop limit reached: this call would be hop {depth} (X-Yun-Depth), and at most "
            f"{MAX_DEPTH} functions may invoke each other in a chain; is a function invoking "
            "itself without end?")


class PayloadTooLarge(InvalidRequest):
    code = "PayloadTooLarge"


class FunctionError(YunError):
    """The user's handler failed: raised, timed out, ran out of memory, or crashed."""

    code = "FunctionError"


class PlatformError(YunError):
    """Something in Yun failed; the request may be retried."""

    code = "PlatformError"


class Overloaded(PlatformError):
    """A bounded buffer is full; the caller should retry after `retry_after` seconds."""

    code = "Overloaded"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def http_status(error: YunError) -> int:
    """The one mapping from errors to HTTP statuses, used by every HTTP edge."""
    for kind, status in _HTTP_STATUS:
        if isinstance(error, kind):
            return status
    return 500


_HTTP_STATUS: tuple[tuple[type[YunError], int], ...] = (
    (PayloadTooLarge, 413),
    (HopLimitExceeded, 508),  # Loop Detected
    (InvalidRequest, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (NotFound, 404),
    (Conflict, 409),
    (Overloaded, 503),
    (FunctionError, 500),
    (PlatformError, 500),
)


def error_body(error: YunError) -> dict[str, dict[str, str]]:
    return {"error": {"type": error.code, "message": error.message}}
