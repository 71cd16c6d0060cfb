"""Versions, aliases, scaling 0 → N → 0, restarts and shutdown of a real `yun up`."""

from __future__ import annotations

import concurrent.futures
import shutil
import signal
import time
from pathlib import Path

import httpx
from yun_harness import FUNCTIONS, Yun, activation, alive, instance_groups, sandbox_processes


def _hello_v2(tmp_path: Path) -> Path:
    copy = tmp_path / "hello2"
    shutil.copytree(FUNCTIONS / "hello", copy)
    text = (copy / "yun.yaml").read_text().replace("GREETING: hi", "GREETING: hey")
    (copy / "yun.yaml").write_text(text)
    return copy


def test_an_alias_splits_traffic_by_its_weights(yun: Yun, tmp_path: Path) -> None:
    yun.deploy(FUNCTIONS / "hello")
    yun.deploy(_hello_v2(tmp_path))
    out = yun.cli("alias", "set", "hello", "prod", "1", "--weight", "2=30")
    assert out.returncode == 0, out.stderr
    with yun.http() as http:
        versions = [http.post("/fn/hello:prod", json={}).json()["version"] for _ in range(1000)]
        assert http.post("/fn/hello:2", json={}).json()["version"] == 2
    share = versions.count(2) / len(versions)
    assert 0.25 < share < 0.35, share


def test_idle_instances_scale_to_zero_and_the_next_call_starts_cold(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")  # keep_alive: 2s
    with yun.http() as http:
        first = http.post("/fn/hello", json={})
        assert activation(http, first.headers["x-yun-activation-id"])["init_ms"] > 0
        warm = http.post("/fn/hello", json={})
        assert activation(http, warm.headers["x-yun-activation-id"])["init_ms"] == 0
        deadline = time.monotonic() + 10
        while instance_groups(yun, "hello@1"):
            assert time.monotonic() < deadline, "instances were not reaped after keep_alive"
            time.sleep(0.2)
        cold = http.post("/fn/hello", json={})
        assert cold.status_code == 200
        assert activation(http, cold.headers["x-yun-activation-id"])["init_ms"] > 0


def test_a_hundred_concurrent_requests_against_max_four_are_answered_or_refused(
        yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")  # scale.max: 4
    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(100) as pool:
        responses = list(pool.map(
            lambda n: http.post("/fn/hello", json={"sleep": 0.05, "name": str(n)}), range(100)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503}, codes
    for response in responses:
        if response.status_code == 503:
            assert response.headers["retry-after"]
    assert codes.count(200) >= 4
    pids = {r.json()["pid"] for r in responses if r.status_code == 200}
    assert 1 <= len(pids) <= 4


def test_restart_keeps_functions_versions_aliases_and_records(yun: Yun, tmp_path: Path) -> None:
    yun.deploy(FUNCTIONS / "hello")
    yun.deploy(_hello_v2(tmp_path))
    assert yun.cli("alias", "set", "hello", "prod", "2").returncode == 0
    with yun.http() as http:
        activation_id = http.post("/fn/hello:prod", json={}).headers["x-yun-activation-id"]
        activation(http, activation_id)
    key = yun.key
    assert yun.stop() == 0
    yun.start()
    assert yun.key == key
    with yun.http() as http:
        assert [v["number"] for v in http.get("/v1/functions/hello/versions").json()["versions"]] \
            == [1, 2]
        assert http.get(f"/v1/activations/{activation_id}").status_code == 200
        assert http.post("/fn/hello:prod", json={}).json()["message"].startswith("hey")


def test_shutdown_leaves_no_sandbox_process_and_no_cgroup(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    yun.deploy(FUNCTIONS / "async_fn")
    with yun.http() as http:
        http.post("/fn/hello", json={})
        http.post("/fn/async-fn", json={})
    assert yun.process is not None
    pid = yun.process.pid
    running = sandbox_processes(yun)
    assert len(running) >= 3  # the zygote and two instances (each the blank it was given)
    assert yun.stop() == 0
    time.sleep(0.2)
    assert alive(running) == set()
    for tree in ("memory", "pids", "cpu", ""):
        assert not (Path("/sys/fs/cgroup") / tree / "yun" / f"up-{pid}").exists()


def test_an_in_flight_request_finishes_during_shutdown(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(1) as pool:
        http.post("/fn/hello", json={})
        pending = pool.submit(http.post, "/fn/hello", json={"sleep": 1.0})
        time.sleep(0.3)
        assert yun.stop() == 0
        assert pending.result().status_code == 200


def test_requests_without_a_valid_key_are_refused(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        for path, method in (("/fn/hello", "POST"), ("/v1/functions", "GET")):
            response = httpx.request(method, yun.url + path, headers=headers, json={})
            assert response.status_code == 401, (path, headers)
            assert response.json()["error"]["message"]


def test_bad_requests_get_clear_errors_and_disturb_nothing(yun: Yun, tmp_path: Path) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        missing = http.post("/fn/nope", json={})
        assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
        no_version = http.post("/fn/hello:9", json={})
        assert no_version.status_code == 404 and "9" in no_version.json()["error"]["message"]
        bad_json = http.post("/fn/hello", content=b"{not json")
        assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]["message"]
        big = http.post("/fn/hello", content=b"[" + b"1," * (3 << 20) + b"1]")
        assert big.status_code == 413
    broken = tmp_path / "broken"
    shutil.copytree(FUNCTIONS / "hello", broken)
    (broken / "yun.yaml").write_text((broken / "yun.yaml").read_text() + "memroy: 5\n")
    out = yun.cli("deploy", str(broken))
    assert out.returncode == 1 and "memroy" in out.stderr and "line" in out.stderr
    (broken / "yun.yaml").write_text((FUNCTIONS / "hello" / "yun.yaml").read_text())
    (broken / "main.py").write_text("def handle(event, context)\n    return 1\n")
    out = yun.cli("deploy", str(broken))
    assert out.returncode == 1 and "main.py" in out.stderr and "line 1" in out.stderr
    with yun.http() as http:
        assert http.post("/fn/hello", json={}).status_code == 200
        assert len(http.get("/v1/functions/hello/versions").json()["versions"]) == 1


def test_a_killed_yun_up_takes_its_sandboxes_with_it_and_the_next_start_cleans_up(
        yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        http.post("/fn/hello", json={})
    assert yun.process is not None
    pid = yun.process.pid
    running = sandbox_processes(yun)
    assert yun.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while alive(running):
        assert time.monotonic() < deadline, f"still running: {alive(running)}"
        time.sleep(0.05)
    yun.start()  # removes the groups the killed process left behind
    for tree in ("memory", "pids", "cpu", ""):
        assert not (Path("/sys/fs/cgroup") / tree / "yun" / f"up-{pid}").exists()
    with yun.http() as http:
        assert http.post("/fn/hello", json={}).status_code == 200
