"""Async invocation against a real `yun up`: accept → queue → dispatcher → status, retries,
dead letters and redrive, destinations, idempotency keys, tenant scoping."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from yun_harness import FUNCTIONS, Yun, free_port

TERMINAL = ("succeeded", "dead")


def settled(http: httpx.Client, invocation: str, timeout: float = 30.0) -> dict[str, Any]:
    """The invocation once it reached a terminal status."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/v1/invocations/{invocation}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"{invocation} still {body['status']}: {body}"
        time.sleep(0.1)


def submit(http: httpx.Client, target: str, event: object,
           headers: dict[str, str] | None = None) -> str:
    response = http.post(f"/fn/{target}/async", json=event, headers=headers or {})
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/invocations/{response.json()['id']}"
    return str(response.json()["id"])


def destination_lines(http: httpx.Client, timeout: float = 20.0,
                      expect: int = 1) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [entry["line"] for entry in
                 http.get("/v1/logs", params={"function": "sink"}).json()["logs"]
                 if entry["line"].startswith("destination")]
        if len(lines) >= expect or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_async_invoke_answers_202_then_the_status_holds_the_result(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        invocation = submit(http, "hello", {"name": "later"})
        done = settled(http, invocation)
    assert done["status"] == "succeeded"
    assert done["result"]["message"] == "hi, later"
    assert (done["attempts"], done["errors"], done["function"]) == (1, [], "hello")


def test_a_function_failing_twice_succeeds_on_its_third_attempt(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "sink")
    yun.deploy(FUNCTIONS / "flaky")
    with yun.http() as http:
        invocation = submit(http, "flaky", {"echo": 7})
        done = settled(http, invocation)
        assert done["status"] == "succeeded", done
        assert done["result"] == {"attempt": 3, "echo": 7}
        assert done["attempts"] == 3
        assert [e["type"] for e in done["errors"]] == ["RuntimeError", "RuntimeError"]
        assert all(e["status"] == "error" and e["activation_id"] for e in done["errors"])
        assert destination_lines(http) == [f"destination Success {invocation}"]


def test_a_poison_message_reaches_the_dead_letters_and_a_fix_redrives_it(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "sink")
    yun.deploy(FUNCTIONS / "poison")
    with yun.http() as http:
        invocation = submit(http, "poison", {"bad": True})
        dead = settled(http, invocation)
        assert dead["status"] == "dead"
        assert dead["attempts"] == 2  # retries: 1
        letters = http.get("/v1/dlq").json()["dead_letters"]
        assert [x["id"] for x in letters] == [invocation]
        letter = http.get(f"/v1/dlq/{invocation}").json()
        assert letter["payload"] == {"bad": True}
        assert [e["type"] for e in letter["errors"]] == ["ValueError", "ValueError"]
        assert "cannot digest" in letter["errors"][-1]["message"]
        assert all(e["at"] > 0 for e in letter["errors"])
        assert destination_lines(http) == [f"destination RetriesExhausted {invocation}"]

        yun.deploy(FUNCTIONS / "poison_fixed")
        out = yun.cli("dlq", "redrive", invocation)
        assert out.returncode == 0, out.stderr
        done = settled(http, invocation)
        assert done["status"] == "succeeded"
        assert done["result"] == {"digested": {"bad": True}}
        assert http.get("/v1/dlq").json()["dead_letters"] == []


def test_an_idempotency_key_gives_the_same_id_and_one_execution(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        key = {"Idempotency-Key": "order-42"}
        first = submit(http, "hello", {"name": "once"}, key)
        second = submit(http, "hello", {"name": "once"}, key)
        assert first == second
        settled(http, first)
        again = submit(http, "hello", {"name": "once"}, key)  # after it ended, too
        assert again == first
        other = submit(http, "hello", {"name": "once"}, {"Idempotency-Key": "order-43"})
        assert other != first
        settled(http, other)
        records = http.get("/v1/activations", params={"function": "hello"}).json()
    ran = [r["id"] for r in records["activations"] if r["id"].startswith(first)]
    assert ran == [f"{first}-1"]


def test_bad_async_requests_get_clear_errors(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        missing = http.post("/fn/nope/async", json={})
        assert missing.status_code == 404
        bad_key = http.post("/fn/hello/async", json={}, headers={"Idempotency-Key": "x" * 300})
        assert bad_key.status_code == 400
        assert "Idempotency-Key must be 1..255" in bad_key.json()["error"]["message"]
        assert http.get("/v1/invocations/0123").status_code == 404
    assert httpx.post(f"{yun.url}/fn/hello/async", json={}).status_code == 401


def test_another_tenants_invocations_and_dead_letters_are_not_found(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "poison")
    with yun.http() as http:
        invocation = submit(http, "poison", {})
        settled(http, invocation)
    assert yun.cli("tenant", "create", "acme").returncode == 0
    made = yun.cli("key", "create", "--tenant", "acme", "--name", "main")
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    with httpx.Client(base_url=yun.url, headers=headers) as acme:
        assert acme.get(f"/v1/invocations/{invocation}").status_code == 404
        assert acme.get(f"/v1/dlq/{invocation}").status_code == 404
        assert acme.post(f"/v1/dlq/{invocation}/redrive").status_code == 404
        assert acme.get("/v1/dlq").json()["dead_letters"] == []


def test_cli_invokes_async_shows_the_invocation_and_manages_the_dlq(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    yun.deploy(FUNCTIONS / "poison")
    out = yun.cli("invoke", "--async", "hello", "--data", '{"name": "cli"}')
    assert out.returncode == 0, out.stderr
    invocation = out.stdout.strip().split()[-1]
    with yun.http() as http:
        settled(http, invocation)
        dead = submit(http, "poison", {})
        settled(http, dead)
    shown = yun.cli("invocation", invocation, "--json")
    assert json.loads(shown.stdout)["result"]["message"] == "hi, cli"
    listed = yun.cli("dlq", "ls")
    assert dead in listed.stdout and "poison" in listed.stdout
    assert "ValueError" in yun.cli("dlq", "show", dead).stdout
    assert yun.cli("dlq", "purge", "--all").returncode == 0
    assert dead not in yun.cli("dlq", "ls").stdout


def test_a_slow_function_builds_queue_depth_visible_in_instances_and_top(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")  # scale.max 4, concurrency 1: 4 at a time
    with yun.http() as http:
        ids = [submit(http, "hello", {"sleep": 1}) for _ in range(10)]
        queued = http.get("/v1/instances").json()["queued"]
        assert queued.get("hello", 0) >= 5
        top = yun.cli("top", "--once")
        assert "queued" in top.stdout and "hello" in top.stdout
        for invocation in ids:
            assert settled(http, invocation)["status"] == "succeeded"
        assert http.get("/v1/instances").json()["queued"] == {}


def test_throttled_attempts_are_retried_later_without_spending_the_budget(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "poison_fixed")  # "poison", retries: 1
    out = yun.cli("tenant", "quota", "default", "invocations_per_second=0.5",
                  "invocation_burst=1")
    assert out.returncode == 0, out.stderr
    with yun.http() as http, ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda n: submit(http, "poison", {"n": n}), range(4)))
        done = [settled(http, invocation) for invocation in ids]
        records = http.get("/v1/activations", params={"function": "poison"}).json()
    assert [(d["status"], d["attempts"], d["errors"]) for d in done] == [
        ("succeeded", 1, [])] * 4
    assert "throttled" in {r["status"] for r in records["activations"]}


def test_a_graceful_stop_lets_running_async_invocations_finish(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        invocation = submit(http, "hello", {"sleep": 1.5, "name": "drained"})
        deadline = time.monotonic() + 10
        while http.get(f"/v1/invocations/{invocation}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert yun.stop() == 0
    yun.start()
    with yun.http() as http:
        done = http.get(f"/v1/invocations/{invocation}").json()
    assert (done["status"], done["attempts"]) == ("succeeded", 1)
    assert done["result"]["message"] == "hi, drained"


def test_a_tenant_past_its_queued_limit_is_refused_with_429_and_retry_after(
        tmp_path: Path) -> None:
    yun = Yun(data_dir=tmp_path / "data", port=free_port(), env={"YUN_ASYNC_MAX_QUEUED": "3"})
    yun.start()
    try:
        yun.deploy(FUNCTIONS / "hello")
        with yun.http() as http:
            answers = [http.post("/fn/hello/async", json={"sleep": 2}) for _ in range(8)]
            refused = [a for a in answers if a.status_code == 429]
            assert refused, [a.status_code for a in answers]
            assert refused[0].headers["retry-after"] == "1"
            assert "3 async invocations queued, the most allowed" in refused[0].text
            for answer in answers:
                if answer.status_code == 202:
                    assert settled(http, answer.json()["id"])["status"] == "succeeded"
    finally:
        yun.stop()
