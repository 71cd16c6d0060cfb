"""The fast path's head of a successful response (`success_head`) is the same bytes, in the
same order, as the headers `response_parts` gives the ASGI path."""

from __future__ import annotations

import pytest

from yun.core import Status, Version
from yun.core.manifest import load_manifest
from yun.gateway._invoke import response_parts, success_head
from yun.node import Outcome

_VERSION = Version("hello", 7, "hash", None, load_manifest("name: hello\nhandler: main:handle\n"),
                   0.0)


@pytest.mark.parametrize("headers", [
    [],
    [("content-type", "application/json")],
    [("x-a", "1"), ("content-length", "99"), ("x-b", "é ü"), ("connection", "close"),
     ("transfer-encoding", "chunked"), ("set-cookie", "a=b; Path=/")],
])
def test_success_head_is_the_asgi_paths_headers(headers: list[tuple[str, str]]) -> None:
    outcome = Outcome(status=Status.SUCCESS, status_code=200, headers=headers, body=b"{}")
    _, parts, _ = response_parts(outcome, "0123abcd", _VERSION)
    joined = b"".join(name + b": " + value + b"\r\n" for name, value in parts)
    assert success_head(headers, "0123abcd", _VERSION.number) == joined
    assert b"content-length" not in joined and b"connection" not in joined
