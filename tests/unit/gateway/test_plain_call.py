"""The gateway's plain call in C (`_plain.c`) and its Python references: the C reader reads
exactly as `parse_plain` does (on valid calls, on everything near them, on noise), and the C
writer writes the bytes `plain_answer` does."""

from __future__ import annotations

from typing import TypeVar

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from yun.gateway import _plain
from yun.gateway._invoke import MAX_BODY
from yun.gateway._protocol import parse_plain, plain_answer

T = TypeVar("T")
KEY = "Bearer yk_0123456789abcdef"
CALL = (b"POST /fn/hello-c8 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: " + KEY.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"name\":\"bench\"}")


def both(data: bytes, max_body: int = MAX_BODY) -> tuple[str, str | None, bytes] | None:
    expected = parse_plain(data, max_body)
    assert _plain.parse(data, max_body) == expected, data
    return expected


def test_a_plain_call_gives_its_target_key_and_body() -> None:
    assert both(CALL) == ("hello-c8", KEY, b'{"name":"bench"}')
    assert both(CALL.replace(b"/fn/hello-c8", b"/fn/hello-c8:live")) == (
        "hello-c8:live", KEY, b'{"name":"bench"}')


def test_a_call_without_headers_but_its_length_and_an_empty_body() -> None:
    assert both(b"POST /fn/a HTTP/1.1\r\ncontent-length: 0\r\n\r\n") == ("a", None, b"")
    assert both(b"POST /fn/a HTTP/1.1\r\n\r\n") is None  # no length: httptools reads it


@pytest.mark.parametrize("header", [
    b"Transfer-Encoding: chunked", b"Connection: close", b"proxy-connection: x",
    b"Expect: 100-continue", b"Upgrade: h2c", b"X-Yun-Depth: 1", b"Content-Length: 16",
    b"authorization: Bearer other", b"Bad Name: x", b"x:\x01", b" Host: x", b"Host : x"])
def test_a_header_the_fast_path_leaves_to_httptools(header: bytes) -> None:
    head, body = CALL.split(b"\r\n\r\n", 1)
    assert both(head + b"\r\n" + header + b"\r\n\r\n" + body) is None


@pytest.mark.parametrize("length", [b"15", b"17", b" 16 \t", b"016", b"1_6", b"+16", b"",
                                    b"99999999", b"0x10"])
def test_content_lengths(length: bytes) -> None:
    data = CALL.replace(b"Content-Length: 16", b"Content-Length:" + length)
    result = both(data)
    assert (result is not None) == (length.strip(b" \t") in (b"16", b"016"))


def test_the_body_limit() -> None:
    assert both(CALL, 16) is not None
    assert both(CALL, 15) is None
    assert both(CALL, 9) is None  # (one digit fewer than the declared length)


def test_wrong_arguments_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        _plain.parse("text", MAX_BODY)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _plain.parse(CALL)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_body must be 0"):
        _plain.parse(CALL, -1)


# -- the two readers held to each other ---------------------------------------------------------

# Each part is valid most of the time, so that most requests are near a plain call.
_valid_names = st.sampled_from([
    "Host", "Authorization", "AUTHORIZATION", "Content-Type", "x-content-length",
    "authorizations", "X", "a!#$%&'*+-.^_`|~z", "Accept"])
_other_names = st.sampled_from([
    "Content-Length", "content-LENGTH", "Transfer-Encoding", "Connection", "Proxy-Connection",
    "Expect", "Upgrade", "X-Yun-Depth", "Bad Name", "", "Host ", "Ä"]) | st.text(
    "abcxyz-:\r\n\t ", max_size=6)
_valid_values = st.sampled_from(["", " ", "16", "a\tb", "é", KEY, "Bearer"]) | st.text(
    "abc 019\t,;=/é", max_size=12)
_other_values = st.sampled_from(["\x00", "\x7f", "\r", "x\ny", "\x1f"]) | st.text(max_size=12)


def _mostly(valid: st.SearchStrategy[T], other: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    return st.integers(0, 19).flatmap(lambda n: other if n == 0 else valid)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from([b"POST"] * 8 + [b"GET", b"post"]))
    name = draw(_mostly(st.sampled_from([b"hello", b"a", b"a-1", b"hello-c8"]),
                        st.sampled_from([b"Hello", b"1a", b"", b"a_b"]) | st.binary(max_size=6)))
    qualifier = draw(st.sampled_from([b""] * 4 + [b":live", b":2", b":A_b-9", b":", b":a.b"]))
    version = draw(st.sampled_from([b"HTTP/1.1"] * 8 + [b"HTTP/1.0", b"HTTP/1.10"]))
    line = method + b" /fn/" + name + qualifier + b" " + version
    headers = draw(st.lists(st.tuples(_mostly(_valid_names, _other_names),
                                      st.sampled_from([": ", ":", ": ", " : "]),
                                      _mostly(_valid_values, _other_values)), max_size=5))
    body = draw(st.binary(max_size=24))
    lengths = draw(st.sampled_from([1] * 8 + [0, 2]))
    for _ in range(lengths):
        off = draw(st.sampled_from([0] * 8 + [1, -1]))
        blank = draw(st.sampled_from(["", "", " ", "\t", "0"]))
        headers.append(("Content-Length", ":" + blank, str(len(body) + off) + blank.strip("0")))
    draw(st.randoms()).shuffle(headers)
    head = b"".join(f"{n}{sep}{v}".encode("utf-8", "surrogatepass") + b"\r\n"
                    for n, sep, v in headers)
    end = draw(st.sampled_from([b"\r\n"] * 8 + [b"\n", b""]))
    return line + b"\r\n" + head + end + body + draw(st.sampled_from([b""] * 8 + [b"x"]))


@settings(max_examples=1500, deadline=None)
@given(requests(), st.sampled_from([MAX_BODY, MAX_BODY, 0, 5, 16, 100]))
@example(CALL, MAX_BODY)
def test_the_readers_agree_on_requests_near_plain_calls(data: bytes, max_body: int) -> None:
    both(data, max_body)


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, len(CALL) - 1), st.binary(max_size=3), st.integers(0, 3))
def test_the_readers_agree_on_a_plain_call_with_bytes_changed(at: int, new: bytes,
                                                               cut: int) -> None:
    both(CALL[:at] + new + CALL[at + cut:])


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=200))
def test_the_readers_agree_on_noise(data: bytes) -> None:
    both(b"POST /fn/" + data)
    both(data)


# -- the answer of a successful call ------------------------------------------------------------

_HEAD = b"date: Fri, 27 Nov 2026 14:00:00 GMT\r\nserver: uvicorn\r\n"


def test_an_answer_is_the_status_the_servers_the_calls_headers_and_the_body() -> None:
    data = _plain.answer(b"HTTP/1.1 200 OK\r\n", _HEAD, "0123abcd", 7,
                         [("content-type", "application/json"), ("content-length", "99")],
                         b"{}", True, False)
    assert data == plain_answer(b"HTTP/1.1 200 OK\r\n", _HEAD, "0123abcd", 7,
                                [("content-type", "application/json"),
                                 ("content-length", "99")], b"{}", True, False)
    assert data == (b"HTTP/1.1 200 OK\r\n" + _HEAD + b"x-yun-activation-id: 0123abcd\r\n"
                    b"x-yun-version: 7\r\ncontent-type: application/json\r\n"
                    b"content-length: 2\r\n\r\n{}")


def test_answers_with_wrong_arguments_are_errors() -> None:
    with pytest.raises(TypeError, match="headers must be"):
        _plain.answer(b"", b"", "a", 1, [("a", 1)], b"", True, False)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        _plain.answer(b"", b"", "a", 1, [], b"", True)  # type: ignore[call-arg]
    with pytest.raises(UnicodeEncodeError):
        _plain.answer(b"", b"", "a", 1, [("a", "\ud800")], b"", True, False)
    with pytest.raises(UnicodeEncodeError):
        plain_answer(b"", b"", "a", 1, [("a", "\ud800")], b"", True, False)


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)  # no lone surrogates
_header_names = st.sampled_from(["content-type", "content-length", "transfer-encoding",
                                 "connection", "x-a", "set-cookie", "Connection"]) | _text
_header_values = _text


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 204 No Content\r\n", b""]),
       st.sampled_from([_HEAD, b""]), st.text("0123456789abcdef", max_size=32),
       st.integers(0, 2**40), st.lists(st.tuples(_header_names, _header_values), max_size=70),
       st.binary(max_size=64), st.booleans(), st.booleans())
def test_the_writers_agree(status_line: bytes, head: bytes, request_id: str, version: int,
                           headers: list[tuple[str, str]], body: bytes, length: bool,
                           close: bool) -> None:
    args = (status_line, head, request_id, version, headers, body, length, close)
    assert _plain.answer(*args) == plain_answer(*args)
