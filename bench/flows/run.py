"""Flows: per-transition overhead of Yun's durable runner vs Prefect 3, in the same run.

Workloads (the same for both):
- chain: 100 Pass states in a row (Prefect: 100 pass-through tasks, one after the other);
- map: a Map over 100 items calling a no-op function, MaxConcurrency 10 (Prefect:
  `task.map` over 100 items on 10 threads).

Yun runs as `yun up` (a real server: HTTP, store with synchronous=FULL, the node agent and
warm sandboxed instances of the function); each run is one `POST /v1/flows/NAME/executions`
with `wait`, timed at the client. Prefect runs in a long-lived process of its own venv
(`bench/.venv-prefect`), with its default local backend (an ephemeral API server, SQLite).
Both servers are pinned to core 0 and the client to core 1. Rounds interleave the systems
(Yun, Prefect, Yun, Prefect ...); the table gives medians.

Also measured: Yun's engine alone (the runner over a SQLite store in this process, with an
instant fake function), which gives transitions per second per core without HTTP or
sandboxes.

    sudo .venv/bin/python bench/flows/run.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
YUN = ROOT / ".venv" / "bin" / "yun"
PREFECT_PYTHON = ROOT / "bench" / ".venv-prefect" / "bin" / "python"
RESULTS = ROOT / "bench" / "results"
SERVER_CPU, CLIENT_CPU = 0, 1

CHAIN = {"StartAt": "S0", "States": {
    f"S{i}": {"Type": "Pass", **({"Next": f"S{i + 1}"} if i < 99 else {"End": True})}
    for i in range(100)}}  # fmt: skip
MAP = {"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "MaxConcurrency": 10, "End": True,
    "ItemProcessor": {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "noop", "End": True}}}}}}  # fmt: skip
INPUTS: dict[str, Any] = {"chain": {"value": 1}, "map": list(range(100))}


def pinned(cmd: list[str], cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def session_cpu(sid: int) -> float:
    """CPU seconds used so far by the live processes of session `sid`."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def yun_cpu(pid: int) -> float:
    """CPU seconds of `yun up` (pid), its zygote, and every template and instance in its
    cgroups (the functions' processes: the same accounting as Prefect's whole session)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            groups = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ours = int(entry) == pid or (comm == "yun-zygote" and int(fields[1]) == pid)
        if ours or f"/yun/up-{pid}/" in groups:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@contextmanager
def session(cmd: list[str], log: Path, **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    """A child in its own session; the whole session is ended on exit (by its id)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=kwargs.pop("stdout", out), stderr=out,
                                start_new_session=True, text=True, **kwargs)
    try:
        yield proc
    finally:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


@dataclass
class Sample:
    seconds: float
    steps: int
    cpu: float = 0.0


@dataclass
class Results:
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)

    def add(self, system: str, workload: str, sample: Sample) -> None:
        self.samples.setdefault((system, workload), []).append(sample)

    def median(self, system: str, workload: str, what: str = "seconds") -> float:
        return statistics.median(getattr(s, what) for s in self.samples[(system, workload)])

    def total(self, system: str, workload: str, what: str) -> float:
        return float(sum(getattr(s, what) for s in self.samples[(system, workload)]))


class YunServer:
    def __init__(self, data: Path, log: Path) -> None:
        self.port = free_port()
        self.data = data
        self.log = log

    @contextmanager
    def running(self) -> Iterator[YunServer]:
        cmd = pinned([str(YUN), "up", "--port", str(self.port), "--data-dir", str(self.data)],
                     SERVER_CPU)
        with session(cmd, self.log) as proc:
            self.pid = proc.pid
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"yun up did not start: {self.log.read_text()[-2000:]}")
                time.sleep(0.05)
            key = (self.data / "admin.key").read_text().strip()
            self.http = httpx.Client(base_url=self.url, timeout=120,
                                     headers={"Authorization": f"Bearer {key}"})
            yield self
            self.http.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def setup(self) -> None:
        from yun.storage import pack

        deployed = self.http.post("/v1/functions", content=pack(HERE / "functions" / "noop"))
        assert deployed.status_code in (200, 201), deployed.text
        for name, definition in (("chain", CHAIN), ("map", MAP)):
            answer = self.http.put(f"/v1/flows/{name}", json=definition)
            assert answer.status_code in (200, 201), answer.text
        deadline = time.monotonic() + 30  # the ten warm instances (scale.min) come up
        while True:
            pools = self.http.get("/v1/instances").json()["pools"]
            if sum(int(p.get("instances", 0)) for p in pools) >= 10:
                break
            if time.monotonic() > deadline:
                print("  (warning: fewer than 10 warm noop instances)", file=sys.stderr)
                break
            time.sleep(0.1)

    def run(self, workload: str) -> Sample:
        cpu = yun_cpu(self.pid)
        began = time.perf_counter()
        answer = self.http.post(f"/v1/flows/{workload}/executions",
                                json={"input": INPUTS[workload], "wait": 60})
        took = time.perf_counter() - began
        cpu = yun_cpu(self.pid) - cpu
        row = answer.json()
        assert row["status"] == "SUCCEEDED", row
        events = self.http.get(f"/v1/executions/{row['id']}/history",
                               params={"limit": 10_000}).json()["events"]
        steps = sum(1 for e in events if e["type"].endswith("StateEntered"))
        return Sample(took, steps, cpu)


class PrefectWorker:
    def __init__(self, home: Path, log: Path) -> None:
        self.home = home
        self.log = log

    @contextmanager
    def running(self) -> Iterator[PrefectWorker]:
        env = {**os.environ, "PREFECT_HOME": str(self.home), "PREFECT_LOGGING_LEVEL": "ERROR",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
        cmd = pinned([str(PREFECT_PYTHON), str(HERE / "prefect_flows.py")], SERVER_CPU)
        with session(cmd, self.log, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     env=env) as proc:
            self.proc = proc
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"prefect did not start: {line!r} {self.log.read_text()[-2000:]}")
            yield self

    def run(self, workload: str) -> Sample:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        cpu = session_cpu(self.proc.pid)
        self.proc.stdin.write(workload + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return Sample(float(answer["seconds"]), 100, session_cpu(self.proc.pid) - cpu)


def prefect_missing() -> str | None:
    if not PREFECT_PYTHON.exists():
        return ("bench/.venv-prefect is missing: python3.11 -m venv bench/.venv-prefect && "
                "bench/.venv-prefect/bin/pip install 'prefect>=3,<4'")
    probe = _prefect_probe()
    if probe.returncode != 0:
        return f"prefect does not import: {probe.stderr.strip()[-300:]}"
    return None


def prefect_version() -> str:
    return _prefect_probe().stdout.strip()


def _prefect_probe() -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PREFECT_PYTHON), "-c", "import prefect; print(prefect.__version__)"],
                          capture_output=True, text=True, check=False)


# --- the engine alone ----------------------------------------------------------------------


async def engine_alone(runs: int, folder: Path) -> dict[str, tuple[float, float, int]]:
    """Median wall and CPU seconds per run, and transitions, of the runner in-process."""
    from yun.core import Status
    from yun.flows import Runner
    from yun.store import Store

    @dataclass
    class Outcome:
        status: Status
        body: bytes
        error_type: str | None = None
        error_message: str | None = None
        traceback: str | None = None

    @dataclass
    class Invoked:
        outcome: Outcome

    class Instant:
        async def invoke(self, tenant: str, target: str, body: bytes,
                         request_id: str | None = None) -> Invoked:
            return Invoked(Outcome(Status.SUCCESS, body))

    store = await Store.open(f"sqlite+aiosqlite:///{folder / 'engine.db'}")
    runner = Runner(store, Instant())
    ready = asyncio.Event()
    task = asyncio.create_task(runner.run(ready.set))
    await ready.wait()
    results: dict[str, tuple[float, float, int]] = {}
    try:
        for name, definition in (("chain", CHAIN), ("map", MAP)):
            await store.put_flow("default", name, definition)
            walls, cpus = [], []
            steps = 0
            for i in range(runs + 2):
                began, cpu = time.perf_counter(), time.process_time()
                row, _ = await runner.start("default", name, INPUTS[name], name=f"run-{i}")
                row = await runner.wait("default", row.id, 60)
                wall, used = time.perf_counter() - began, time.process_time() - cpu
                assert row.status == "SUCCEEDED", row
                if i >= 2:  # two warm-up runs
                    walls.append(wall)
                    cpus.append(used)
                history = await store.execution_history("default", name, f"run-{i}", 0, 10_000)
                steps = sum(1 for e in history if str(e["type"]).endswith("StateEntered"))
            results[name] = (statistics.median(walls), statistics.median(cpus), steps)
    finally:
        runner.stop()
        await task
        await store.close()
    return results


# --- report --------------------------------------------------------------------------------


def report(results: Results, engine: dict[str, tuple[float, float, int]], rounds: int,
           prefect: str | None, version: str) -> str:
    lines = [f"## Flows: Yun vs Prefect {version or ''} ({datetime.now():%Y-%m-%d %H:%M}, "
             f"{os.cpu_count()} cores, {rounds} interleaved rounds, medians)", ""]
    lines += ["| workload | system | run | per step | CPU per run (all processes) | "
              "steps/s per core | Yun faster |", "|---|---|---:|---:|---:|---:|---:|"]
    for workload in ("chain", "map"):
        for system in ("yun", "prefect"):
            if (system, workload) not in results.samples:
                lines.append(f"| {workload} | {system} | {prefect} | | | | |")
                continue
            run = results.median(system, workload)
            steps = int(results.median(system, workload, "steps"))
            # CPU is read in clock ticks (10 ms): summed over the rounds, not a median.
            cpu_all = results.total(system, workload, "cpu")
            cpu = cpu_all / len(results.samples[(system, workload)])
            steps_all = results.total(system, workload, "steps")
            per_core = f"{steps_all / cpu_all:,.0f}" if cpu_all > 0 else "-"
            ratio = ""
            if system == "prefect":
                ratio = f"{run / results.median('yun', workload):.0f}×"
            lines.append(f"| {workload} | {system} | {run * 1000:,.1f} ms | "
                         f"{run / steps * 1000:.2f} ms | {cpu * 1000:,.0f} ms | {per_core} | "
                         f"{ratio} |")
    lines += ["", "Yun's engine alone (runner + SQLite store in one process, instant fake "
              "function):", "", "| workload | run | per transition | transitions/s per core |",
              "|---|---:|---:|---:|"]
    for workload, (wall, cpu, steps) in engine.items():
        lines.append(f"| {workload} | {wall * 1000:.1f} ms | {wall / steps * 1e6:.0f} µs | "
                     f"{steps / cpu:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (≥ 5)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: yun up needs cgroups and namespaces")
    if (os.cpu_count() or 1) > CLIENT_CPU:
        os.sched_setaffinity(0, {CLIENT_CPU})
    missing = prefect_missing()
    version = "" if missing else prefect_version()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="yun-bench-flows-") as tmp:
        folder = Path(tmp)
        yun = YunServer(folder / "yun", folder / "yun-up.log")
        with yun.running() as server:
            server.setup()
            for workload in ("chain", "map", "chain", "map"):
                server.run(workload)  # warm-up
            prefect_ctx = (PrefectWorker(folder / "prefect", folder / "prefect.log").running()
                           if missing is None else None)
            worker = prefect_ctx.__enter__() if prefect_ctx is not None else None
            try:
                for round_number in range(1, args.rounds + 1):
                    for workload in ("chain", "map"):
                        results.add("yun", workload, server.run(workload))
                        if worker is not None:
                            results.add("prefect", workload, worker.run(workload))
                    print(f"round {round_number}/{args.rounds} done", file=sys.stderr)
            finally:
                if prefect_ctx is not None:
                    prefect_ctx.__exit__(None, None, None)
        engine = asyncio.run(engine_alone(args.rounds, folder))
    text = report(results, engine, args.rounds,
                  f"not available ({missing})" if missing else None, version)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"flows-{datetime.now():%Y%m%d-%H%M%S}.md").write_text(text)


if __name__ == "__main__":
    main()
