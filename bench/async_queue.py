"""Async invocation per queue backend, and the PostgreSQL queue next to Celery on Redis.

For each system, interleaved per round (Yun on SQLite, PostgreSQL, NATS JetStream; Celery):
- burst: N no-op tasks submitted as fast as one client can; throughput = N / (seconds from
  the first submit until the last task finished);
- latency: M tasks spaced 20 ms apart; submit → handler start = the time the handler
  started (it returns `time.time()`) minus the time the client began the request (Celery:
  called `delay()`). Same machine, same clock.

Yun: `yun up` pinned to core 0 with YUN_QUEUE_URL set; `async-noop` (concurrency 8, up to 4
instances) kept warm. Celery: a prefork worker with 4 processes on core 0, Redis broker and
result backend (db 13). Clients on core 1.

    sudo .venv/bin/python bench/async_queue.py [--quick]
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa
from _harness import (
    BENCH,
    CLIENT_CPU,
    FUNCTIONS,
    HOST,
    SERVER_CPU,
    VENV,
    Proc,
    Yun,
    free_port,
    machine,
    main,
    median,
    pct,
    pinned,
    running,
    table,
)
from sqlalchemy.ext.asyncio import create_async_engine

from yun.queue import NatsQueue

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NATS = "nats://127.0.0.1:4222"
REDIS = "redis://127.0.0.1:6379/13"
CELERY_PYTHON = BENCH / ".venv-celery" / "bin" / "python"
Result = dict[str, float]


class QueuedYun(Yun):
    """`Yun` with YUN_QUEUE_URL set."""

    def __init__(self, queue_url: str) -> None:  # not super(): that starts `yun up` already
        self.dir = Path(tempfile.mkdtemp(prefix="yun-bench-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        cmd = pinned([VENV / "yun", "up", "--port", str(self.port), "--data-dir", self.data],
                     SERVER_CPU)
        self.proc = Proc("yun", cmd, env={"YUN_DRAIN_SECONDS": "5", "YUN_QUEUE_URL": queue_url},
                         cwd=self.dir)


def _yun(queue_url: str, burst: int, spaced: int) -> Result:
    with QueuedYun(queue_url) as yun:
        yun.deploy(FUNCTIONS / "async_noop")
        headers = {"Authorization": f"Bearer {yun.key}"}
        with httpx.Client(base_url=yun.url, headers=headers, timeout=60) as http:
            http.post("/fn/async-noop", json={}).raise_for_status()  # warm
            accepted: dict[str, float] = {}

            def submit(_: int) -> None:
                sent = time.time()
                response = http.post("/fn/async-noop/async", json={})
                response.raise_for_status()
                accepted[response.json()["id"]] = sent

            started = time.time()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(submit, range(burst)))
            accept_rate = burst / (time.time() - started)
            _wait_drained(http)
            burst_seconds = time.time() - started
            accepted.clear()
            for n in range(spaced):
                submit(n)
                time.sleep(0.02)
            _wait_drained(http)
            latencies = [http.get(f"/v1/invocations/{i}").json()["result"]["started"] - t
                         for i, t in accepted.items()]
    return _result(burst / burst_seconds, accept_rate, latencies)


def _wait_drained(http: httpx.Client, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while http.get("/v1/instances").json()["queued"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the queue did not drain")
        time.sleep(0.01)


def _celery(burst: int, spaced: int) -> Result:
    env = {"BROKER": REDIS}
    worker = Proc("celery", pinned([CELERY_PYTHON, BENCH / "_celery_peer.py", "worker"],
                                   SERVER_CPU), env=env, cwd=BENCH)
    with running(worker):
        worker.wait_for("ready", 60)
        client = [CELERY_PYTHON, BENCH / "_celery_peer.py", "client"]
        run = pinned([*client, str(burst), "0"], CLIENT_CPU)
        out = subprocess.run(run, capture_output=True, text=True, check=True, cwd=BENCH,
                             env={"BROKER": REDIS, "PATH": "/usr/bin:/bin"}, timeout=600)
        burst_seconds = json.loads(out.stdout)["seconds"]
        run = pinned([*client, str(spaced), "0.02"], CLIENT_CPU)
        out = subprocess.run(run, capture_output=True, text=True, check=True, cwd=BENCH,
                             env={"BROKER": REDIS, "PATH": "/usr/bin:/bin"}, timeout=600)
        latencies = json.loads(out.stdout)["latencies"]
    return _result(burst / burst_seconds, float("nan"), latencies)


def _result(throughput: float, accept_rate: float, latencies: list[float]) -> Result:
    ms = [x * 1000 for x in latencies]
    return {"throughput": throughput, "accept": accept_rate, "p50": median(ms),
            "p99": pct(ms, 99)}


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


async def _drop_stream(stream: str) -> None:
    queue = await NatsQueue.open(NATS, stream=stream)
    await queue.delete()
    await queue.close()


def run(quick: bool) -> None:
    rounds, burst, spaced = (1, 200, 30) if quick else (3, 1000, 100)
    database = f"yun_bench_{uuid.uuid4().hex[:8]}"
    stream = f"yun-bench-{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    systems: dict[str, Callable[[], Result]] = {
        "yun · SQLite queue": lambda: _yun("", burst, spaced),
        "yun · PostgreSQL queue": lambda: _yun(
            f"postgresql://postgres@127.0.0.1:5432/{database}", burst, spaced),
        "yun · NATS JetStream": lambda: _yun(f"{NATS}?stream={stream}", burst, spaced),
        "celery 5 · Redis": lambda: _celery(burst, spaced),
    }
    if not CELERY_PYTHON.exists():
        del systems["celery 5 · Redis"]
        print("celery: not available (python3 -m venv bench/.venv-celery && "
              "bench/.venv-celery/bin/pip install 'celery[redis]')")
    results: dict[str, list[Result]] = {name: [] for name in systems}
    try:
        for _ in range(rounds):
            for name, measure in systems.items():
                results[name].append(measure())
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        asyncio.run(_drop_stream(stream))
    rows = []
    for name, samples in results.items():
        rows.append([name, *(median([s[k] for s in samples])
                             for k in ("throughput", "accept", "p50", "p99"))])
    print(machine())
    print(f"{rounds} round(s), medians; burst of {burst} no-op tasks, {spaced} spaced 20 ms\n")
    print(table("Async: no-op tasks", ["system", "tasks/s (burst, to done)", "accepts/s",
                                      "submit → start p50 ms", "p99 ms"], rows))


if __name__ == "__main__":
    main(run)
