"""What an instance answers is checked before the gateway writes it to a connection."""

from __future__ import annotations

import dataclasses

import pytest

from yun.node import _outcome
from yun.node._outcome import bad_response, has_body


def test_ordinary_responses_pass() -> None:
    assert bad_response(200, [("content-type", "application/json; charset=utf-8"),
                              ("x-trace", "a\tb"), ("etag", '"abc"')], b"{}") is None
    assert bad_response(204, [], b"") is None
    assert bad_response(599, [], b"x") is None


@pytest.mark.parametrize("name, value", [
    ("x-evil", "a\r\nset-cookie: pwn=1"), ("x-evil", "a\nb"), ("x-nul", "a\x00b"),
    ("bad name", "v"), ("colon:", "v"), ("", "v"), ("x-del", "a\x7f"),
    ("Transfer-Encoding", "chunked"),  # upper case would slip past the framing filter
])
def test_a_header_that_could_split_the_response_is_named(name: str, value: str) -> None:
    reason = bad_response(200, [("content-type", "text/plain"), (name, value)], b"")
    assert reason is not None and repr(name) in reason


@pytest.mark.parametrize("status", [0, 99, 100, 101, 199, 600, 999])
def test_a_status_outside_200_to_599_is_named(status: int) -> None:
    reason = bad_response(status, [], b"")
    assert reason is not None and str(status) in reason


@pytest.mark.parametrize("status", [204, 304])
def test_a_body_with_a_status_that_has_none_is_refused(status: int) -> None:
    reason = bad_response(status, [], b"HTTP/1.1 200 OK\r\n\r\n")
    assert reason is not None and str(status) in reason
    assert not has_body(status) and has_body(200)


def test_headers_found_good_are_remembered_and_bad_ones_never_are() -> None:
    """Good headers are kept so the next answer skips their check; the set stays bounded,
    and a bad header is refused however often it comes."""
    for i in range(3000):
        assert bad_response(200, [("x-n", str(i))], b"") is None
    assert 0 < len(_outcome._GOOD_HEADERS) <= _outcome._GOOD_HEADERS_KEPT
    for _ in range(3):
        assert bad_response(200, [("x-evil", "a\r\nb")], b"") is not None
    assert ("x-evil", "a\r\nb") not in _outcome._GOOD_HEADERS


def test_the_outcome_fields_keep_the_order_the_node_agent_builds_them_in() -> None:
    """`_agent._answered` builds every call's Outcome positionally."""
    assert [f.name for f in dataclasses.fields(_outcome.Outcome)] == [
        "status", "status_code", "headers", "body", "error_type", "error_message",
        "traceback", "logs", "init_ms", "wait_ms", "duration_ms", "max_rss_mb", "instance"]
