"""Deploy → invoke → every way an invocation ends, against a real `yun up`."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from yun_harness import FUNCTIONS, Yun, activation, free_port


def test_deploy_then_invoke_over_http_returns_the_handler_result(yun: Yun) -> None:
    out = yun.deploy(FUNCTIONS / "hello")
    assert "deployed hello version 1" in out.stdout
    with yun.http() as http:
        response = http.post("/fn/hello", json={"name": "yun"})
    assert response.status_code == 200
    assert response.json()["message"] == "hi, yun"
    assert response.headers["x-yun-activation-id"]


def test_invoke_from_the_cli_prints_the_result(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    out = yun.cli("invoke", "hello", "--data", '{"name": "cli"}')
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["message"] == "hi, cli"


def test_redeploying_identical_code_is_a_no_op_that_says_so(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    again = yun.deploy(FUNCTIONS / "hello")
    assert "unchanged" in again.stdout
    with yun.http() as http:
        versions = http.get("/v1/functions/hello/versions").json()["versions"]
    assert [v["number"] for v in versions] == [1]


def test_a_handler_exception_is_a_500_with_the_error_and_a_record_with_the_traceback(
        yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        response = http.post("/fn/behaviours", json={"do": "raise"})
        assert response.status_code == 500
        assert response.headers["x-yun-function-error"] == "error"
        error = response.json()["error"]
        assert error["type"] == "Oops"
        assert "on purpose" in error["message"]
        record = activation(http, response.headers["x-yun-activation-id"])
    assert record["status"] == "error"
    assert "Oops" in record["traceback"]


def test_a_handler_past_its_timeout_is_stopped_and_reported_as_timeout(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        started = time.monotonic()
        response = http.post("/fn/behaviours", json={"do": "sleep", "seconds": 30})
        elapsed = time.monotonic() - started
        assert response.status_code == 504
        assert response.headers["x-yun-function-error"] == "timeout"
        assert elapsed < 1 + 1.5  # timeout (1 s) + 1 s, plus start-up slack
        assert activation(http, response.headers["x-yun-activation-id"])["status"] == "timeout"
        # the next call gets a fresh instance
        assert http.post("/fn/behaviours", json={}).status_code == 200


def test_a_handler_exceeding_its_memory_is_reported_as_oom(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        response = http.post("/fn/behaviours", json={"do": "hog"})
        assert response.status_code == 502
        assert response.headers["x-yun-function-error"] == "oom"
        assert activation(http, response.headers["x-yun-activation-id"])["status"] == "oom"
        assert http.post("/fn/behaviours", json={}).status_code == 200


def test_an_instance_that_exits_is_reported_as_crashed(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        response = http.post("/fn/behaviours", json={"do": "exit"})
        assert response.status_code == 502
        assert response.headers["x-yun-function-error"] == "crashed"
        assert activation(http, response.headers["x-yun-activation-id"])["status"] == "crashed"
        assert http.post("/fn/behaviours", json={}).status_code == 200


def test_a_full_response_return_controls_status_headers_and_body(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        response = http.post("/fn/behaviours", json={"do": "status"})
    assert response.status_code == 201
    assert response.headers["x-custom"] == "yes"
    assert response.text == "made"


def test_an_answer_the_runtime_cannot_encode_is_a_clear_error(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        response = http.post("/fn/behaviours", json={"do": "surrogate"})
        assert response.status_code == 500
        assert response.headers["x-yun-function-error"] == "error"
        assert "surrogate" in response.json()["error"]["message"]
        assert http.post("/fn/behaviours", json={}).status_code == 200  # the instance serves on


def test_an_unserialisable_result_is_a_clear_error(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "behaviours")
    with yun.http() as http:
        response = http.post("/fn/behaviours", json={"do": "unserialisable"})
    assert response.status_code == 500
    assert "not JSON-serialisable" in response.json()["error"]["message"]


def test_async_handlers_serve_several_requests_at_once_on_one_instance(yun: Yun) -> None:
    import concurrent.futures

    yun.deploy(FUNCTIONS / "async_fn")
    with yun.http() as http:
        http.post("/fn/async-fn", json={"n": 0})  # warm
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(
                lambda n: http.post("/fn/async-fn", json={"n": n, "sleep": 0.5}), range(8)))
        elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in results)
    assert len({r.json()["pid"] for r in results}) == 1
    assert elapsed < 2.0  # eight 0.5 s sleeps overlapped on one instance


def test_records_and_logs_are_kept_per_activation(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        activation_id = http.post("/fn/hello", json={"name": "logs"}).headers[
            "x-yun-activation-id"]
        record = activation(http, activation_id)
    assert record["status"] == "success"
    assert record["billed_ms"] >= 1
    assert record["memory_mb"] == 128
    assert record["gb_seconds"] > 0
    logs = yun.cli("logs", "hello")
    assert activation_id in logs.stdout and "greeting logs" in logs.stdout
    listed = json.loads(yun.cli("activations", "hello", "--json").stdout)
    assert listed[0]["id"] == activation_id


def test_requests_that_time_out_waiting_leave_the_buffer_at_once(tmp_path: Path) -> None:
    # One instance, busy; three requests wait for it past max_wait and get 503. They must
    # not stay in the activator buffer (as waiting demand) until the instance frees up.
    node = Yun(data_dir=tmp_path / "data", port=free_port(), env={"YUN_MAX_WAIT": "0.5"})
    node.start()
    try:
        folder = tmp_path / "slow"
        shutil.copytree(FUNCTIONS / "behaviours", folder)
        (folder / "yun.yaml").write_text("name: slow\nhandler: main:handle\ntimeout: 10s\n"
                                         "scale: {min: 0, max: 1, keep_alive: 10m}\n")
        node.deploy(folder)
        with node.http() as http:
            assert http.post("/fn/slow", json={}).status_code == 200  # warm
        busy = threading.Thread(target=lambda: node.http().post(
            "/fn/slow", json={"do": "sleep", "seconds": 4}))
        busy.start()
        time.sleep(0.3)
        with node.http() as http:
            waited = [http.post("/fn/slow", json={}).status_code for _ in range(3)]
            (pool,) = [p for p in http.get("/v1/instances").json()["pools"]
                       if p["function"] == "slow"]
        assert waited == [503, 503, 503]
        assert pool["waiting"] == 0 and pool["inflight"] == 1
        busy.join(10)
    finally:
        node.stop()
