"""Handlers reach their tenant's functions through host calls, with no network."""

from __future__ import annotations

import os
import subprocess
import time

import httpx
from yun_harness import FUNCTIONS, YUN, Yun


def records_of(http: httpx.Client, function: str, expected: int) -> list[dict[str, object]]:
    """The function's activation records once `expected` are written (batched ≤ 50 ms)."""
    deadline = time.monotonic() + 5
    while True:
        found = http.get("/v1/activations", params={"function": function}).json()["activations"]
        if len(found) >= expected or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.05)


def test_a_handler_invokes_another_function_without_network(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    yun.deploy(FUNCTIONS / "caller")
    with yun.http() as http:
        response = http.post("/fn/caller", json={"action": "call", "target": "hello",
                                                 "event": {"name": "host"}})
        assert response.status_code == 200, response.text
        assert response.json()["got"]["message"] == "hi, host"
        # The inner call is an invocation of its own, with its own record.
        assert len(records_of(http, "hello", 1)) == 1


def test_a_chain_of_invocations_stops_at_the_hop_limit_with_a_clear_error(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "caller")
    with yun.http(timeout=60) as http:
        # Each hop keeps an instance busy: allow enough of them.
        response = http.post("/fn/caller", json={"action": "recurse", "depth": 0})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["depth"] == 15  # the 16th function in the chain may not call a 17th
    assert "hop limit reached: this call would be hop 16" in body["stopped"]


def test_calls_from_a_thread_that_outlives_its_invocation_are_refused(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    yun.deploy(FUNCTIONS / "caller")
    with yun.http() as http:
        assert http.post("/fn/caller", json={"action": "after_return"}).status_code == 200
        time.sleep(0.6)
        # The instance is still healthy afterwards.
        again = http.post("/fn/caller", json={"action": "call", "target": "hello"})
        assert again.status_code == 200, again.text
        time.sleep(0.3)
        assert len(records_of(http, "hello", 2)) == 1  # only the second, in-flight call ran


def test_an_unknown_host_call_names_the_operation(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "caller")
    with yun.http() as http:
        response = http.post("/fn/caller", json={"action": "unknown_op"})
    assert "unknown host call 'no.such.op'" in response.json()["error"]


def test_another_tenants_function_answers_not_found_like_a_missing_one(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "caller")
    assert yun.cli("tenant", "create", "other").returncode == 0
    key = yun.cli("key", "create", "--tenant", "other", "--name", "main").stdout.strip()
    env = {**os.environ, "YUN_URL": yun.url, "YUN_API_KEY": key}
    env.pop("YUN_DATA_DIR", None)
    deployed = subprocess.run([YUN, "deploy", str(FUNCTIONS / "hello")], env=env, check=False,
                              capture_output=True, text=True, timeout=120)
    assert deployed.returncode == 0, deployed.stderr
    with yun.http() as http:
        theirs = http.post("/fn/caller", json={"action": "call", "target": "hello"})
        missing = http.post("/fn/caller", json={"action": "call", "target": "nothing"})
    assert theirs.status_code == missing.status_code == 500
    assert theirs.json()["error"]["type"] == missing.json()["error"]["type"] == "NotFound"
    assert "hello" in theirs.json()["error"]["message"]


def test_a_function_queueing_itself_stops_at_the_hop_limit(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "caller")
    with yun.http() as http:
        queued = http.post("/fn/caller/async", json={"action": "async_recurse"})
        assert queued.status_code == 202, queued.text
        records_of(http, "caller", 16)
        time.sleep(1.0)  # and then nothing more comes
        records = records_of(http, "caller", 17)
    # Hops 0..15 ran; the 16th function's attempt to queue a 17th was refused.
    assert len(records) == 16
    assert {r["status"] for r in records} == {"success"}


def test_an_async_request_past_the_hop_limit_is_refused_before_it_is_queued(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "caller")
    with yun.http() as http:
        refused = http.post("/fn/caller/async", json={}, headers={"X-Yun-Depth": "16"})
        accepted = http.post("/fn/caller/async", json={}, headers={"X-Yun-Depth": "15"})
    assert refused.status_code == 508, refused.text
    assert refused.json()["error"]["type"] == "HopLimitExceeded"
    assert accepted.status_code == 202


def test_an_async_handler_makes_host_calls_through_a_thread(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    yun.deploy(FUNCTIONS / "async_caller")
    with yun.http() as http:
        response = http.post("/fn/async-caller", json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["direct"].startswith("HostError: host call 'function.invoke' blocks")
    assert body["threaded"] == "hi, thread"
