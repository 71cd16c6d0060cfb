"""An invocation's output is in its record line by line, an unfinished last line included,
and a line another call left unfinished stays that call's."""

from __future__ import annotations

import sys

import pytest

from yun.protocol import Invoke, Result, decode, encode
from yun.runtime import instance
from yun.runtime._context import LogRouter


@pytest.fixture
def routers(monkeypatch: pytest.MonkeyPatch) -> tuple[LogRouter, LogRouter]:
    out, err = LogRouter("stdout", None), LogRouter("stderr", None)
    monkeypatch.setattr(instance, "_routers", (out, err))
    return out, err


def _call(handler: object, request_id: str) -> Result:
    """Run one call as the instance does, its output going to the routers (set here, not
    in the fixture: pytest puts its own capture back on sys.stdout before each test)."""
    invoke = Invoke(id=request_id, timeout_ms=1000, function="f", version=1, memory_mb=128,
                    tenant="t")
    assert instance._routers is not None
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = instance._routers
    try:
        reply = instance._run(handler, decode(encode(invoke, b"{}")))  # type: ignore[arg-type]
    finally:
        sys.stdout, sys.stderr = saved
    assert reply is not None
    result, _ = decode(reply)
    assert isinstance(result, Result) and result.ok, result
    return result


def test_lines_and_an_unfinished_last_line_are_kept(routers: object) -> None:
    def handler(event: object, context: object) -> str:
        print("one")
        print("two", end="")
        print("three", file=sys.stderr, end="")
        return "ok"

    result = _call(handler, "a")
    assert [(r.stream, r.line) for r in result.logs] == [
        ("stdout", "one"), ("stdout", "two"), ("stderr", "three")]
    assert all(not router.partial for router in routers)  # type: ignore[attr-defined]


def test_a_call_without_output_has_no_lines(routers: object) -> None:
    assert _call(lambda event, context: 1, "b").logs == []


def test_another_calls_unfinished_line_is_not_taken(
        routers: tuple[LogRouter, LogRouter]) -> None:
    out, _ = routers
    out.partial["other"] = "half a line"  # a call still running on another thread
    result = _call(lambda event, context: print("mine", end=""), "c")
    assert [r.line for r in result.logs] == ["mine"]
    assert out.partial == {"other": "half a line"}
