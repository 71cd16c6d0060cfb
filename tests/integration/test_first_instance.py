"""A version's first instance is the blank it was given, serving: no template, no fork. The
template comes with the second instance. Either way an instance has the same limits."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

from yun_harness import FUNCTIONS, Yun, activation, sandbox_processes


def _pool(yun: Yun, function: str) -> dict[str, object]:
    with yun.http() as http:
        pools = http.get("/v1/instances").json()["pools"]
    return next(p for p in pools if p["function"] == function)


def _wait_busy(yun: Yun, function: str) -> None:
    deadline = time.monotonic() + 10
    while not _pool(yun, function)["inflight"]:
        assert time.monotonic() < deadline, f"no call of {function} in flight"
        time.sleep(0.01)


def _templates(yun: Yun, function: str) -> list[int]:
    found = []
    for pid in sandbox_processes(yun):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == f"yun-t:{function}":
                found.append(pid)
        except OSError:
            continue
    return found


def test_a_versions_first_instance_is_its_blank_serving_with_no_template(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http:
        response = http.post("/fn/hello", json={})
    assert response.status_code == 200
    assert response.json()["pid"] == 1  # pid 1 of its own namespace: nothing forked it
    pool = _pool(yun, "hello")
    assert (pool["instances"], pool["template"]) == (1, False)
    assert _templates(yun, "hello") == []


def test_a_second_instance_is_forked_from_a_template_made_for_it(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "hello")
    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(1) as threads:
        assert http.post("/fn/hello", json={}).json()["pid"] == 1
        busy = threads.submit(http.post, "/fn/hello", json={"sleep": 1.0})
        _wait_busy(yun, "hello")  # so the next request needs a second instance
        second = http.post("/fn/hello", json={})
        assert second.status_code == 200 and second.json()["pid"] != 1
        assert _pool(yun, "hello")["template"] is True
        assert len(_templates(yun, "hello")) == 1
        assert busy.result().status_code == 200 and busy.result().json()["pid"] == 1


def test_the_first_instance_has_its_whole_memory_beyond_its_import_as_a_forked_one_has(
        yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "ballast")  # memory: 64, and its import holds 40 MiB
    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(1) as threads:
        first = http.post("/fn/ballast", json={"mb": 40})
        assert first.status_code == 200 and first.json()["pid"] == 1
        busy = threads.submit(http.post, "/fn/ballast", json={"mb": 40, "sleep": 1.0})
        _wait_busy(yun, "ballast")
        forked = http.post("/fn/ballast", json={"mb": 40})
        assert forked.status_code == 200 and forked.json()["pid"] != 1
        assert busy.result().status_code == 200
        # ... and no more than that: past it the instance is stopped as oom.
        over = http.post("/fn/ballast", json={"mb": 80})
        assert over.status_code == 502 and over.headers["x-yun-function-error"] == "oom"


def test_a_version_with_a_heavy_import_starts_from_a_template_once_that_is_known(
        yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "heavy")  # 30 ms of CPU at import; keep_alive 1 s
    with yun.http() as http:
        assert http.post("/fn/heavy", json={}).json()["pid"] == 1  # not known yet
        deadline = time.monotonic() + 30
        while _pool(yun, "heavy")["instances"]:
            assert time.monotonic() < deadline, "heavy did not go back to zero"
            time.sleep(0.1)
        # Known now: the import is made once, in a template, and a scale-out is one fork.
        assert http.post("/fn/heavy", json={}).json()["pid"] != 1
    assert _pool(yun, "heavy")["template"] is True


def test_a_heavy_import_found_by_a_serving_blank_gets_its_template_at_once(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "heavy")  # 30 ms of CPU at import
    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(1) as threads:
        first = http.post("/fn/heavy", json={})
        assert first.json()["pid"] == 1  # not known before: the blank served
        deadline = time.monotonic() + 10
        while not _pool(yun, "heavy")["template"]:  # made without waiting for a scale-out
            assert time.monotonic() < deadline, "no template for heavy"
            time.sleep(0.05)
        busy = threads.submit(http.post, "/fn/heavy", json={"sleep": 1.0})
        _wait_busy(yun, "heavy")
        second = http.post("/fn/heavy", json={})
        assert second.status_code == 200 and second.json()["pid"] != 1
        record = activation(http, second.headers["x-yun-activation-id"])
        assert float(str(record["init_ms"])) < 25  # a fork, not the 30 ms import again
        assert busy.result().status_code == 200
