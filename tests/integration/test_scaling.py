"""The autoscaler in a real `yun up`: 0 → N under a burst, panic headroom, N → 0 after
keep-alive, and the keep-alive policy a manifest selects."""

from __future__ import annotations

import concurrent.futures
import shutil
import threading
import time
from pathlib import Path

import httpx
from yun_harness import FUNCTIONS, Yun, instance_groups


def _hello(tmp_path: Path, name: str, scale: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(FUNCTIONS / "hello", folder)
    text = (folder / "yun.yaml").read_text()
    text = text.replace("name: hello", f"name: {name}")
    text = text.replace("scale: {min: 0, max: 4, target: 1, keep_alive: 2s}", f"scale: {scale}")
    (folder / "yun.yaml").write_text(text)
    return folder


def _pool(http: httpx.Client, function: str) -> dict[str, object] | None:
    pools = http.get("/v1/instances").json()["pools"]
    return next((p for p in pools if p["function"] == function), None)


def test_a_burst_at_zero_scales_out_then_back_to_zero_after_keep_alive(
        yun: Yun, tmp_path: Path) -> None:
    yun.deploy(_hello(tmp_path, "burst", "{max: 10, keep_alive: 2s}"))
    assert instance_groups(yun, "burst@1") == []
    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(10) as threads:
        responses = list(threads.map(
            lambda n: http.post("/fn/burst", json={"sleep": 0.5, "name": str(n)}), range(10)))
        assert [r.status_code for r in responses] == [200] * 10
        assert len({r.json()["pid"] for r in responses}) >= 5
        burst_over = time.monotonic()
        assert len(instance_groups(yun, "burst@1")) >= 5
        # A 2 s keep-alive gets a 6 s window (not Knative's 60 s + 30 s grace); panic holds
        # the burst's instances for one window, then each tick at most halves them.
        deadline = burst_over + 20
        while instance_groups(yun, "burst@1"):
            assert time.monotonic() < deadline, "the burst's instances were not reaped"
            time.sleep(0.2)
        assert time.monotonic() - burst_over > 2  # not before keep_alive
        pool = _pool(http, "burst")
        assert pool is not None and pool["desired"] == 0


def test_a_burst_that_outruns_instance_starts_panics_and_scales_out_ahead_of_it(
        yun: Yun, tmp_path: Path) -> None:
    # Instances normally start in milliseconds, as fast as requests come; a 1 s import holds
    # the first ones back, so the panic window sees 6 requests and no ready instance.
    folder = _hello(tmp_path, "surge", "{max: 20, keep_alive: 10m, target_utilization: 0.7}")
    code = (folder / "main.py").read_text()
    (folder / "main.py").write_text(code.replace("import time\n", "import time\n\ntime.sleep(1)\n"))
    yun.deploy(folder)
    stop = threading.Event()

    def client() -> None:
        with yun.http() as http:
            while not stop.is_set():
                assert http.post("/fn/surge", json={"sleep": 0.2}).status_code == 200

    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(6) as threads:
        clients = [threads.submit(client) for _ in range(6)]
        try:
            deadline = time.monotonic() + 10
            while True:
                pool = _pool(http, "surge")
                # 6 in flight at 70 % utilisation want 9: more than the requests fill.
                if pool is not None and pool["mode"] == "panic" and pool["instances"] >= 9:
                    break
                assert time.monotonic() < deadline, f"no panic scale-out: {pool}"
                time.sleep(0.1)
        finally:
            stop.set()
            for done in clients:
                done.result()
        peak = pool["instances"]
        time.sleep(2)  # a panicking autoscaler does not scale down inside its stable window
        after = _pool(http, "surge")
        assert after is not None and after["instances"] >= peak, after


def test_a_manifest_selects_the_hybrid_keep_alive_policy(yun: Yun, tmp_path: Path) -> None:
    yun.deploy(_hello(tmp_path, "learner",
                      "{max: 2, keep_alive: 30s, keep_alive_policy: hybrid, window: 6s}"))
    with yun.http() as http:
        assert http.post("/fn/learner", json={}).status_code == 200
        deadline = time.monotonic() + 15
        while True:
            pool = _pool(http, "learner")
            assert pool is not None
            if str(pool["reason"]).startswith("keep-alive"):
                break
            assert time.monotonic() < deadline, f"the load's window never let go: {pool}"
            time.sleep(0.2)
        # One idle time seen: the histogram is still learning, so its fixed fallback keeps it.
        assert pool["reason"] == "keep-alive (fixed: learning)"
        assert pool["instances"] == 1
        manifest = http.get("/v1/functions/learner").json()["latest"]["manifest"]
        assert manifest["scale"]["keep_alive_policy"] == "hybrid"
        assert manifest["scale"]["window"] == 6.0
