"""An instance's threads: batches run on the thread that read them, stalls are taken over."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from yun.protocol import Frame, FrameSplitter, Invoke, Result, encode
from yun.runtime._workers import HANDOFF, Workers


def _invoke(request_id: str, body: bytes = b"") -> bytes:
    return encode(Invoke(id=request_id, timeout_ms=1000, function="f", version=1, memory_mb=128,
                         tenant="t"), body)


class Handler:
    """Sleeps for the seconds in the body; remembers which thread ran each call."""

    def __init__(self) -> None:
        self.threads: dict[str, str] = {}
        self.started: dict[str, float] = {}
        self.lock = threading.Lock()

    def __call__(self, frame: Frame) -> bytes | None:
        message, body = frame
        assert isinstance(message, Invoke)
        with self.lock:
            self.started[message.id] = time.monotonic()
        time.sleep(float(body or b"0"))
        with self.lock:
            self.threads[message.id] = threading.current_thread().name
        return encode(Result(id=message.id, ok=True), b"")


@pytest.fixture(params=[HANDOFF])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[socket.socket, Handler, int]]:
    node, instance = socket.socketpair()
    handler = Handler()
    concurrency = 4
    server = threading.Thread(target=Workers(instance, handler, request.param).serve,
                              args=(concurrency,), daemon=True)
    server.start()
    yield node, handler, concurrency
    node.close()
    server.join(5)
    assert not server.is_alive(), "the instance kept serving after the node closed"
    instance.close()


def _replies(node: socket.socket, count: int, timeout: float = 5.0) -> list[tuple[str, float]]:
    """(id, seconds after the call) of the next `count` replies."""
    node.settimeout(timeout)
    splitter, got, start = FrameSplitter(), [], time.monotonic()
    while len(got) < count:
        data = node.recv(1 << 16)
        assert data, "the instance closed the socket"
        got += [(m.id, time.monotonic() - start) for m, _ in splitter.feed(data)
                if isinstance(m, Result)]
    return got


@pytest.mark.parametrize("served", [0.5], indirect=True)  # no stall, however busy the machine
def test_a_batch_of_quick_calls_runs_on_the_thread_that_read_it(
        served: tuple[socket.socket, Handler, int]) -> None:
    node, handler, _ = served
    node.sendall(b"".join(_invoke(f"r{i}") for i in range(4)))
    assert sorted(i for i, _ in _replies(node, 4)) == ["r0", "r1", "r2", "r3"]
    assert len(set(handler.threads.values())) == 1


def test_a_call_that_blocks_does_not_hold_up_the_rest_of_its_batch(
        served: tuple[socket.socket, Handler, int]) -> None:
    node, handler, _ = served
    node.sendall(_invoke("slow", b"1") + _invoke("a") + _invoke("b"))
    replies = dict(_replies(node, 3))
    assert replies["a"] < 0.5 and replies["b"] < 0.5
    assert replies["slow"] >= 1
    assert handler.threads["a"] != handler.threads["slow"]


def test_concurrency_calls_that_block_run_at_once(
        served: tuple[socket.socket, Handler, int]) -> None:
    node, handler, concurrency = served
    node.sendall(b"".join(_invoke(f"r{i}", b"0.5") for i in range(concurrency)))
    replies = _replies(node, concurrency)
    assert max(t for _, t in replies) < 0.5 * 2  # not one after another
    assert len(set(handler.threads.values())) == concurrency


def test_a_call_arriving_while_others_block_is_read_and_run(
        served: tuple[socket.socket, Handler, int]) -> None:
    node, _, _ = served
    node.sendall(_invoke("slow", b"1"))
    time.sleep(0.05)
    node.sendall(_invoke("late"))
    replies = dict(_replies(node, 2))
    assert replies["late"] < 0.5


def test_a_frame_split_across_reads_is_run_once_complete(
        served: tuple[socket.socket, Handler, int]) -> None:
    node, _, _ = served
    frame = _invoke("split")
    node.sendall(frame[:7])
    time.sleep(0.02)
    node.sendall(frame[7:])
    assert [i for i, _ in _replies(node, 1)] == ["split"]


def test_replies_kept_for_a_batch_leave_while_its_last_call_runs_long(
        served: tuple[socket.socket, Handler, int]) -> None:
    node, _, _ = served
    node.sendall(_invoke("a") + _invoke("b") + _invoke("slow", b"1"))
    replies = dict(_replies(node, 3))
    assert replies["a"] < 0.5 and replies["b"] < 0.5


def test_one_thread_answers_each_call_in_turn_until_the_node_closes() -> None:
    node, instance = socket.socketpair()
    handler = Handler()
    server = threading.Thread(target=Workers(instance, handler).serve, args=(1,), daemon=True)
    server.start()
    with node, instance:
        for i in range(3):
            node.sendall(_invoke(f"r{i}"))
            assert [r for r, _ in _replies(node, 1)] == [f"r{i}"]
        node.shutdown(socket.SHUT_WR)
        server.join(5)
        assert not server.is_alive()


@pytest.mark.parametrize("served", [0.1], indirect=True)
def test_once_a_batch_stalled_the_rest_of_it_is_taken_over_at_once(
        served: tuple[socket.socket, Handler, int]) -> None:
    node, handler, concurrency = served
    node.sendall(b"".join(_invoke(f"r{i}", b"0.5") for i in range(concurrency)))
    _replies(node, concurrency)
    starts = sorted(handler.started.values())
    # One look (0.1 s) finds the batch stalled; the standbys after it do not look again
    # (one frame per look would spread the starts over 0.3 s).
    assert starts[-1] - starts[0] < 0.2
