"""What `yun up` promises beyond a single call: docs, removal, warm minimums, no network,
and the demo that `make run` shows."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import httpx
from yun_harness import FUNCTIONS, YUN, Yun, activation, free_port, instance_groups


def test_the_openapi_document_is_served_at_docs(yun: Yun) -> None:
    assert httpx.get(f"{yun.url}/docs").status_code == 200
    paths = httpx.get(f"{yun.url}/openapi.json").json()["paths"]
    assert "/v1/functions" in paths and "/v1/activations" in paths


def test_removing_a_function_makes_it_unknown_and_keeps_its_records(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        activation_id = http.post("/fn/hello", json={}).headers["x-yun-activation-id"]
        assert yun.cli("rm", "hello").returncode == 0
        assert http.post("/fn/hello", json={}).status_code == 404
        deadline = time.monotonic() + 5
        while http.get(f"/v1/activations/{activation_id}").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert "hello" not in yun.cli("ls").stdout


def test_removing_a_function_refuses_its_waiting_requests_and_starts_nothing_for_it(
        yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "threads")  # concurrency 4, max 1 instance
    with yun.http() as http:
        assert http.post("/fn/threads", json={}).status_code == 200
    statuses: list[int] = []

    def call() -> None:
        with yun.http() as http:
            statuses.append(http.post("/fn/threads", json={"sleep": 4}).status_code)

    calls = [threading.Thread(target=call) for _ in range(6)]  # 4 run, 2 wait
    for thread in calls:
        thread.start()
    time.sleep(1)
    removed = time.monotonic()
    assert yun.cli("rm", "threads").returncode == 0
    for thread in calls:
        thread.join(10)
    assert time.monotonic() - removed < 3  # not the 30 s a waiting request may wait
    assert sorted(statuses) == [502] * 4 + [503] * 2  # the running ones' instance stopped
    time.sleep(1)  # nothing may start for the removed version's requests
    with yun.http() as http:
        pools = http.get("/v1/instances").json()["pools"]
    assert not [p for p in pools if p["function"] == "threads"]


def test_min_instances_are_started_without_traffic_and_kept_past_keep_alive(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "warm")  # min: 2, keep_alive: 1s
    deadline = time.monotonic() + 10
    while len(instance_groups(yun, "warm@1")) < 2:
        assert time.monotonic() < deadline, "min instances were not started"
        time.sleep(0.1)
    time.sleep(2.5)
    assert len(instance_groups(yun, "warm@1")) == 2
    with yun.http() as http:
        response = http.post("/fn/warm", json={})
        record = activation(http, response.headers["x-yun-activation-id"])
    assert record["init_ms"] == 0


def test_functions_have_no_network_by_default(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        result = http.post("/fn/behaviours", json={"do": "connect", "port": yun.port}).json()
    assert result["connected"] is False


def test_the_demo_prints_commands_that_work(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [YUN, "up", "--demo", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "YUN_DATA_DIR": str(tmp_path / "data")},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not any(line.strip().startswith("yun invoke") for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            lines.append(process.stdout.readline())
        curl = next(line.strip() for line in lines if line.strip().startswith("curl"))
        answer = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=30)
        assert "hello, yun" in answer.stdout, answer
        invoke = next(line.strip() for line in lines if line.strip().startswith("yun invoke"))
        env = {**os.environ, "YUN_DATA_DIR": str(tmp_path / "data")}
        env["PATH"] = f"{Path(YUN).parent}:{env['PATH']}"
        out = subprocess.run(invoke, shell=True, capture_output=True, text=True, timeout=30,
                             env=env)
        assert re.search(r"hello, yun", out.stdout), out
    finally:
        process.terminate()
        assert process.wait(30) == 0


def test_a_start_that_would_overcommit_memory_is_refused_with_503(tmp_path: Path) -> None:
    from yun.node import available_mb

    node = Yun(data_dir=tmp_path / "data", port=free_port(),
               # A reserve past what is free: other processes on the machine free and take
               # tens of MiB at a time, so a reserve just under it let a start through.
               env={"YUN_MEMORY_RESERVE_MB": str(available_mb() + 1024), "YUN_BLANKS": "0"})
    node.start()
    try:
        node.deploy(FUNCTIONS / "hello")  # 128 MiB
        with node.http() as http:
            response = http.post("/fn/hello", json={})
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert "not enough memory" in response.json()["error"]["message"]
    finally:
        node.stop()


def test_top_shows_instances_cold_starts_and_memory_per_version(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        http.post("/fn/hello", json={})
        pools = http.get("/v1/instances").json()["pools"]
    assert pools[0]["function"] == "hello" and pools[0]["instances"] == 1
    assert pools[0]["cold_starts"] == 1 and pools[0]["memory_mb"] > 0
    assert {"desired", "mode", "reason"} <= pools[0].keys()
    out = yun.cli("top", "--once")
    assert out.returncode == 0 and "hello" in out.stdout
