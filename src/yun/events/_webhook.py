"""Webhook signatures: GitHub-style `X-Hub-Signature-256: sha256=<hex>` HMAC-SHA256 of the
body with the function's secret. Pure: no I/O.

Replay window: a sender that also sends `X-Yun-Timestamp` (epoch seconds) signs
`<timestamp>.<body>` instead, and a delivery older or newer than `TOLERANCE` is refused; the
delivery id (`X-GitHub-Delivery` or `X-Yun-Delivery`) is the event's dedupe key, so a
repeated delivery is absorbed by the queue. Without a timestamp (GitHub itself), only the
delivery id guards against repeats.
"""

from __future__ import annotations

import hashlib
import hmac

from yun.core import Unauthorized

TOLERANCE = 300.0  # seconds between a delivery's timestamp and our clock, at most
SIGNATURE = "x-hub-signature-256"
TIMESTAMP = "x-yun-timestamp"
DELIVERY = ("x-github-delivery", "x-yun-delivery")


def sign(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The header value a sender computes (also used by tests and the docs' example)."""
    message = body if timestamp is None else timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None, timestamp: str | None,
           now: float) -> None:
    """Raise Unauthorized saying what is wrong; return when the delivery is authentic."""
    if not signature:
        raise Unauthorized(f"missing webhook signature: send '{SIGNATURE}: sha256=<hex HMAC-"
                           f"SHA256 of the body with the secret>'")
    if not signature.startswith("sha256="):
        raise Unauthorized(f"webhook signature must start with 'sha256=', was: "
                           f"{signature[:20]!r}")
    if timestamp is not None:
        try:
            sent = float(timestamp)
        except ValueError:
            raise Unauthorized(f"{TIMESTAMP} must be epoch seconds, was: "
                               f"{timestamp[:20]!r}") from None
        if abs(now - sent) > TOLERANCE:
            raise Unauthorized(f"webhook delivery is outside the {TOLERANCE:.0f}s replay window: "
                               f"{TIMESTAMP} {timestamp} is {now - sent:+.0f}s from now")
    expected = sign(secret, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Unauthorized("webhook signature does not match: the body was not signed with "
                           "this trigger's secret" + (" (and timestamp)" if timestamp else ""))
