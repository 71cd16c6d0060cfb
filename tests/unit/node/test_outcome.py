"""A handler's response headers are checked before the gateway writes them."""

from __future__ import annotations

import pytest

from yun.node._outcome import bad_response


def test_ordinary_headers_pass() -> None:
    assert bad_response(200, [("content-type", "application/json; charset=utf-8"),
                       ("x-trace", "a\tb"), ("etag", '"abc"')]) is None


@pytest.mark.parametrize("name, value", [
    ("x-evil", "a\r\nset-cookie: pwn=1"), ("x-evil", "a\nb"), ("x-nul", "a\x00b"),
    ("bad name", "v"), ("colon:", "v"), ("", "v"), ("x-del", "a\x7f"),
])
def test_a_header_that_could_split_the_response_is_named(name: str, value: str) -> None:
    reason = bad_response(200, [("content-type", "text/plain"), (name, value)])
    assert reason is not None and repr(name) in reason


@pytest.mark.parametrize("status", [0, 99, 600, 999])
def test_a_status_outside_100_to_599_is_named(status: int) -> None:
    reason = bad_response(status, [])
    assert reason is not None and str(status) in reason
