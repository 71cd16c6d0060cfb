"""Functions invoking functions carry a hop count (`X-Yun-Depth`); past 16 hops a call is
refused with 508 and a message that says why, so a function invoking itself stops."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from yun_harness import Yun, free_port

from yun import runtime
from yun.runtime._context import Context, activate, deactivate
from yun.sdk import Client

FUNCTIONS = Path(__file__).resolve().parent / "functions"
MAX_DEPTH = 16


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yun]:
    yun = Yun(data_dir=tmp_path_factory.mktemp("hops") / "data", port=free_port())
    yun.start()
    yun.deploy(FUNCTIONS / "depth")
    try:
        yield yun
    finally:
        yun.stop()


def call(node: Yun, depth: str | None) -> tuple[int, dict[str, object]]:
    headers = {} if depth is None else {"X-Yun-Depth": depth}
    with node.http() as http:
        response = http.post("/fn/depth", json={}, headers=headers)
    return response.status_code, response.json()


def test_a_call_from_outside_is_hop_zero(node: Yun) -> None:
    assert call(node, None) == (200, {"depth": 0})


def test_the_function_sees_the_depth_it_was_called_at(node: Yun) -> None:
    assert call(node, "3") == (200, {"depth": 3})
    assert call(node, str(MAX_DEPTH - 1)) == (200, {"depth": MAX_DEPTH - 1})


def test_a_call_past_the_hop_limit_is_refused_with_a_clear_error(node: Yun) -> None:
    status, body = call(node, str(MAX_DEPTH))
    assert status == 508
    error = body["error"]
    assert isinstance(error, dict)
    assert error["type"] == "HopLimitExceeded"
    assert f"this call would be hop {MAX_DEPTH} (X-Yun-Depth)" in error["message"]
    assert "invoking itself" in error["message"]


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "9" * 40, ""])
def test_a_malformed_depth_is_refused_naming_the_header_and_value(node: Yun, bad: str) -> None:
    status, body = call(node, bad)
    assert status == 400
    error = body["error"]
    assert isinstance(error, dict)
    assert "X-Yun-Depth" in error["message"] and repr(bad) in error["message"]


def test_the_sdk_client_inside_a_function_sends_one_hop_more(node: Yun) -> None:
    # What a handler calling `yun.Client().invoke` does: the runtime has activated the
    # invocation's context, and the client reads its depth from there.
    context = Context(request_id="r", function="caller", version=1, memory_mb=64,
                      tenant="default", deadline=time.monotonic() + 5, depth=5)
    token = activate(context)
    try:
        assert runtime.current() is context
        with Client(url=node.url, api_key=node.key) as client:
            assert client.invoke("depth").json() == {"depth": 6}
    finally:
        deactivate(token)
    with Client(url=node.url, api_key=node.key) as client:
        assert client.invoke("depth").json() == {"depth": 0}


def test_a_function_invoking_itself_is_stopped_after_the_hop_limit(tmp_path: Path) -> None:
    # Sandboxes cannot reach the node's own port (see test_egress.py), so this chain runs
    # without namespaces, where a function can call the gateway over loopback.
    yun = Yun(data_dir=tmp_path / "data", port=free_port(), env={"YUN_NAMESPACES": "false"})
    yun.start()
    try:
        folder = tmp_path / "recurse"
        folder.mkdir()
        shutil.copy(FUNCTIONS / "recurse" / "main.py", folder / "main.py")
        (folder / "yun.yaml").write_text(
            "name: recurse\nhandler: main:handle\nmemory: 64\ntimeout: 30s\n"
            f"scale: {{min: 0, max: {MAX_DEPTH + 2}}}\n"
            f"env: {{SELF_URL: '{yun.url}', SELF_KEY: '{yun.key}'}}\n")
        yun.deploy(folder)
        with yun.http(timeout=60) as http:
            response = http.post("/fn/recurse", json={})
        assert response.status_code == 200, response.text
        level, hops = response.json(), 0
        while level.get("inner_status") == 200:
            assert level["depth"] == hops
            level, hops = level["inner"], hops + 1
        assert (hops, level["depth"], level["inner_status"]) == (
            MAX_DEPTH - 1, MAX_DEPTH - 1, 508)
        assert level["inner"]["error"]["type"] == "HopLimitExceeded"
    finally:
        yun.stop()
