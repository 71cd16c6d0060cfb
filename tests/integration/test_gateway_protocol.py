"""The gateway's HTTP/1.1 protocol on a real `yun up`, over raw sockets: the fast path for
`POST /fn/NAME` (key and route cached) and every request it leaves to ASGI must frame
responses the same way, in order, on one connection."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

from yun_harness import FUNCTIONS, Yun, activation


def _request(yun: Yun, body: bytes, path: str = "/fn/hello", key: str | None = None,
             extra: str = "", framing: str | None = None) -> bytes:
    framing = framing if framing is not None else f"Content-Length: {len(body)}\r\n"
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key or yun.key}\r\n"
            f"Content-Type: application/json\r\n{framing}{extra}\r\n").encode() + body


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response off `sock` (what is read beyond it stays in `buffer`)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {bytes(buffer)!r}"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":")
                                                            for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        rest += chunk
    buffer[:] = rest[length:]
    return status, headers, rest[:length]


def _warm(yun: Yun) -> None:
    """Deploy hello and call it once over HTTP: its key and route are then cached."""
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        assert http.post("/fn/hello", json={"name": "warm"}).status_code == 200


def _connect(yun: Yun) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", yun.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_many_invocations_on_one_keep_alive_connection_each_get_their_answer(yun: Yun) -> None:
    _warm(yun)
    ids = []
    with _connect(yun) as sock:
        buffer = bytearray()
        for n in range(20):
            sock.sendall(_request(yun, json.dumps({"name": f"n{n}"}).encode()))
            status, headers, body = _read_response(sock, buffer)
            assert status == 200, body
            assert json.loads(body)["message"] == f"hi, n{n}"
            assert headers["content-type"] == "application/json"
            assert headers["x-yun-version"] == "1"
            assert "date" in headers
            ids.append(headers["x-yun-activation-id"])
    assert len(set(ids)) == 20
    # Activation ids start with the time: they sort in the order the calls were made.
    assert [i[:12] for i in ids] == sorted(i[:12] for i in ids)
    with yun.http() as http:
        record = activation(http, ids[-1])
    assert record["status"] == "success"
    assert record["function"] == "hello"


def test_pipelined_requests_are_answered_in_order(yun: Yun) -> None:
    _warm(yun)
    with _connect(yun) as sock:
        names = [f"p{n}" for n in range(6)]
        # One write: the second request arrives while the first is in flight.
        sock.sendall(b"".join(_request(yun, json.dumps({"name": name}).encode())
                              for name in names))
        buffer = bytearray()
        answers = [_read_response(sock, buffer) for _ in names]
    assert [json.loads(body)["message"] for _, _, body in answers] == [f"hi, {n}"
                                                                        for n in names]
    assert all(status == 200 for status, _, _ in answers)


def test_connection_close_is_honoured_after_the_answer(yun: Yun) -> None:
    _warm(yun)
    with _connect(yun) as sock:
        sock.sendall(_request(yun, b'{"name": "bye"}', extra="Connection: close\r\n"))
        buffer = bytearray()
        status, headers, body = _read_response(sock, buffer)
        assert status == 200
        assert headers["connection"] == "close"
        assert json.loads(body)["message"] == "hi, bye"
        assert sock.recv(100) == b""  # closed by the server


def test_a_connection_in_use_stays_open_and_one_left_idle_is_closed_after_keep_alive(
        yun: Yun) -> None:
    _warm(yun)
    with _connect(yun) as sock:
        buffer = bytearray()
        for n in range(4):  # 6 s of calls 2 s apart: past the 5 s keep-alive, never idle that long
            if n:
                time.sleep(2)
            sock.sendall(_request(yun, json.dumps({"name": f"k{n}"}).encode()))
            assert _read_response(sock, buffer)[0] == 200
        idle_from = time.monotonic()
        sock.settimeout(15)
        assert sock.recv(100) == b""  # closed by the server ...
        assert 4.5 <= time.monotonic() - idle_from <= 8  # ... once idle for uvicorn's 5 s


def test_a_handler_header_that_would_split_the_response_is_an_error_not_sent(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        assert http.post("/fn/behaviours", json={}).status_code == 200  # key and route cached
    bad = [("x-evil", "a\r\nset-cookie: pwn=1"), ("x-evil", "a\nb"), ("bad name", "v"),
           ("x-nul", "a\x00b")]
    with _connect(yun) as sock:
        buffer = bytearray()
        for name, value in bad:
            event = {"do": "bad header", "name": name, "value": value}
            for path in ("/fn/behaviours", "/fn/behaviours?via=asgi"):
                sock.sendall(_request(yun, json.dumps(event).encode(), path=path))
                status, headers, body = _read_response(sock, buffer)
                assert status == 500, body
                assert "set-cookie" not in headers and name not in headers
                assert headers["x-yun-function-error"] == "error"
                assert json.loads(body)["error"]["type"] == "InvalidResponse"
                with yun.http() as http:
                    record = activation(http, headers["x-yun-activation-id"])
                assert record["status"] == "error"
                assert repr(name) in record["error_message"]


def test_a_status_without_a_body_is_sent_without_one_and_one_with_a_body_is_refused(
        yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        assert http.post("/fn/behaviours", json={}).status_code == 200  # key and route cached
    forged = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    with _connect(yun) as sock:
        buffer = bytearray()
        for path in ("/fn/behaviours", "/fn/behaviours?via=asgi"):
            sock.sendall(_request(yun, json.dumps({"do": "respond", "status": 204}).encode(),
                                  path=path))
            while b"\r\n\r\n" not in buffer:
                buffer += sock.recv(65536)
            head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
            buffer[:] = rest
            assert head.startswith(b"HTTP/1.1 204 ") and b"content-length" not in head.lower()
            # Refused by the gateway (the runtime cannot tell a body from a forged response),
            # and by the runtime itself (with its own message).
            for event, error in (({"do": "respond", "status": 204, "body": forged},
                                  "InvalidResponse"),
                                 ({"do": "respond", "status": 101}, "ValueError")):
                sock.sendall(_request(yun, json.dumps(event).encode(), path=path))
                status, _, body = _read_response(sock, buffer)
                assert status == 500, body
                assert json.loads(body)["error"]["type"] == error
            # The connection is still in step: the next answer is the next request's.
            sock.sendall(_request(yun, b'{"do": "respond", "status": 201, "body": "next"}',
                                  path=path))
            status, _, body = _read_response(sock, buffer)
            assert (status, body) == (201, b"next")
            assert not buffer


def test_requests_the_fast_path_leaves_to_asgi_are_answered_the_same(yun: Yun) -> None:
    _warm(yun)
    with _connect(yun) as sock:
        buffer = bytearray()
        # A chunked body.
        chunked = b'{"name": "chunks"}'
        sock.sendall(_request(yun, f"{len(chunked):x}\r\n".encode() + chunked + b"\r\n0\r\n\r\n",
                              framing="Transfer-Encoding: chunked\r\n"))
        status, _, body = _read_response(sock, buffer)
        assert (status, json.loads(body)["message"]) == (200, "hi, chunks")
        # A query string, and the hop header.
        sock.sendall(_request(yun, b'{"name": "q"}', path="/fn/hello?x=1",
                              extra="X-Yun-Depth: 2\r\n"))
        status, _, body = _read_response(sock, buffer)
        assert (status, json.loads(body)["message"]) == (200, "hi, q")
        # Not JSON: the error names it; the connection stays usable.
        sock.sendall(_request(yun, b"{not json"))
        status, _, body = _read_response(sock, buffer)
        assert status == 400
        assert "not valid JSON" in json.loads(body)["error"]["message"]
        # A wrong key on a warm function.
        sock.sendall(_request(yun, b"{}", key="nope"))
        status, _, body = _read_response(sock, buffer)
        assert status == 401
        # An unknown function.
        sock.sendall(_request(yun, b"{}", path="/fn/nothing-here"))
        status, _, body = _read_response(sock, buffer)
        assert status == 404
        # And the fast path again on the same connection.
        sock.sendall(_request(yun, b'{"name": "again"}'))
        status, _, body = _read_response(sock, buffer)
        assert (status, json.loads(body)["message"]) == (200, "hi, again")


def test_a_fast_path_call_in_flight_finishes_during_shutdown(yun: Yun) -> None:
    _warm(yun)
    answers: list[tuple[int, dict[str, str], bytes]] = []

    def call() -> None:
        with _connect(yun) as sock:
            sock.sendall(_request(yun, b'{"name": "late", "sleep": 1.0}'))
            answers.append(_read_response(sock, bytearray()))

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)  # the call is running on its instance
    assert yun.stop(signal.SIGTERM) == 0
    caller.join(10)
    assert len(answers) == 1
    status, headers, body = answers[0]
    assert status == 200
    assert json.loads(body)["message"] == "hi, late"
    assert headers.get("connection") == "close"  # the server is going away


def test_requests_read_without_httptools_and_those_left_to_it_frame_the_same(
        yun: Yun) -> None:
    """A plain call in one segment is read by the gateway itself; one split across writes,
    or with a header that changes framing, goes through httptools, which decides."""
    _warm(yun)
    with _connect(yun) as sock:
        buffer = bytearray()
        # Header names in any case, a value with blanks around it: read as httptools would.
        body = b'{"name": "case"}'
        sock.sendall((f"POST /fn/hello HTTP/1.1\r\nHOST: x\r\nauthorization:Bearer {yun.key} \t"
                      f"\r\ncontent-LENGTH: {len(body)}\r\n\r\n").encode() + body)
        status, _, answer = _read_response(sock, buffer)
        assert (status, json.loads(answer)["message"]) == (200, "hi, case")
        # The head in one write, the body in the next.
        request = _request(yun, b'{"name": "split"}')
        cut = request.index(b"\r\n\r\n") + 4
        sock.sendall(request[:cut])
        time.sleep(0.05)
        sock.sendall(request[cut:])
        status, _, answer = _read_response(sock, buffer)
        assert (status, json.loads(answer)["message"]) == (200, "hi, split")
        # A request and the first bytes of the next in one write.
        second = _request(yun, b'{"name": "second"}')
        sock.sendall(_request(yun, b'{"name": "first"}') + second[:10])
        time.sleep(0.05)
        sock.sendall(second[10:])
        messages = [json.loads(_read_response(sock, buffer)[2])["message"] for _ in range(2)]
        assert messages == ["hi, first", "hi, second"]
    # Two Content-Lengths: refused (400) and the connection closed, nothing invoked.
    with _connect(yun) as sock:
        sock.sendall(_request(yun, b'{"name": "twice"}',
                              framing="Content-Length: 17\r\nContent-Length: 5\r\n"))
        status, _, _ = _read_response(sock, bytearray())
        assert status == 400
    # A Content-Length of thousands of digits: refused (400), not a crash of the connection.
    with _connect(yun) as sock:
        sock.sendall(_request(yun, b"{}", framing=f"Content-Length: {'1' * 5000}\r\n"))
        status, _, _ = _read_response(sock, bytearray())
        assert status == 400
    # Proxy-Connection: close is honoured as httptools reads it (as Connection: close).
    with _connect(yun) as sock:
        sock.sendall(_request(yun, b'{"name": "proxy"}', extra="Proxy-Connection: close\r\n"))
        status, headers, answer = _read_response(sock, bytearray())
        assert (status, json.loads(answer)["message"]) == (200, "hi, proxy")
        assert headers["connection"] == "close"
        assert sock.recv(100) == b""
    # A header folded over two lines (obsolete): refused, not read as two headers.
    with _connect(yun) as sock:
        sock.sendall(_request(yun, b'{"name": "fold"}', extra="X-A: 1\r\n  continued\r\n"))
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 400") or reply == b""
