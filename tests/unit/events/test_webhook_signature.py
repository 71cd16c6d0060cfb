"""Webhook signature checks: GitHub-style HMAC, and the signed timestamp's replay window."""

from __future__ import annotations

import pytest

from yun.core import Unauthorized
from yun.events._webhook import sign, verify

SECRET = "s3cret-s3cret-s3cret"
NOW = 1_800_000_000.0


def test_a_github_style_signature_is_accepted() -> None:
    body = b'{"action": "opened"}'
    verify(SECRET, body, sign(SECRET, body), None, NOW)


def test_the_known_github_example_signature() -> None:
    # From GitHub's documentation on validating webhook deliveries.
    assert sign("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


@pytest.mark.parametrize(("signature", "message"), [
    (None, "missing webhook signature"),
    ("sha1=abc", "webhook signature must start with 'sha256='"),
    ("sha256=" + "0" * 64, "webhook signature does not match"),
])
def test_a_bad_signature_is_refused_with_a_clear_message(signature: str | None,
                                                         message: str) -> None:
    with pytest.raises(Unauthorized, match=f"^{message}"):
        verify(SECRET, b"{}", signature, None, NOW)


def test_a_signed_timestamp_inside_the_window_is_accepted() -> None:
    ts = str(int(NOW) - 60)
    verify(SECRET, b"{}", sign(SECRET, b"{}", ts), ts, NOW)


def test_a_replayed_delivery_outside_the_window_is_refused() -> None:
    ts = str(int(NOW) - 3600)
    with pytest.raises(Unauthorized, match="outside the 300s replay window"):
        verify(SECRET, b"{}", sign(SECRET, b"{}", ts), ts, NOW)


def test_a_timestamp_changed_by_an_attacker_breaks_the_signature() -> None:
    old = str(int(NOW) - 3600)
    with pytest.raises(Unauthorized, match="does not match"):
        verify(SECRET, b"{}", sign(SECRET, b"{}", old), str(int(NOW)), NOW)
