"""Shared plumbing for the benchmarks: processes, a `yun up` on a free port, peers, wrk, stats.

Every process a benchmark starts is a `Proc` in its own session, stopped by the `with` block
that owns it (also on Ctrl-C or SIGTERM, which `main()` turns into KeyboardInterrupt).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv" / "bin"
FUNCTIONS = BENCH / "functions"
PEERS = Path(os.environ.get("YUN_BENCH_PEERS", "/work/shared/peers"))
RAY_PYTHON = BENCH / ".venv-ray" / "bin" / "python"
RAY_SESSIONS = Path(tempfile.gettempdir()) / "ray"
SERVER_CPU, CLIENT_CPU = 0, 1  # servers (and Yun's zygote, so its instances) vs load generator
BODY = b'{"name": "bench"}'
HOST = "127.0.0.1"


# --- processes --------------------------------------------------------------------------------


def pinned(cmd: Sequence[str | Path], cpu: int | None) -> list[str]:
    """`cmd` under `taskset -c cpu` when there are two cores and taskset, else as is
    (`cpu=None`: not pinned, for figures stated "on 2 cores")."""
    args = [str(c) for c in cmd]
    if cpu is not None and shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu), *args]
    return args


def pin_self(cpu: int) -> None:
    """Keep this process (the client side of the measurements) off the server's core."""
    if (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def session_pids(sid: int) -> list[int]:
    """Every process whose session id is `sid` (Ray's workers change group, not session)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:  # state, ppid, pgrp, session
            found.append(int(entry))
    return found


class Proc:
    """A child in its own session, its output in a log file; `stop()` ends the whole session."""

    def __init__(self, name: str, cmd: Sequence[str | Path], env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                [str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd,
                env={**os.environ, **(env or {})})
        self.pid = self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not print {text!r} in {timeout:g} s")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGINT, grace: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                tail = self.log()[-2000:]
                print(f"{self.name} did not stop within {grace:g} s of {signal.Signals(sig).name}"
                      f"; killing it. Its last output:\n{tail}", file=sys.stderr)
                self.popen.kill()
                self.popen.wait(5)
        for pid in session_pids(self.pid):  # whatever it left behind in its session
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.log_path.unlink(missing_ok=True)


@contextmanager
def running(proc: Proc, **stop: Any) -> Iterator[Proc]:
    try:
        yield proc
    finally:
        proc.stop(**stop)


def wait_http(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- Yun --------------------------------------------------------------------------------------


class Yun:
    """`yun up` on a free port with a throw-away data dir, pinned to the server core.

    The zygote is forked by `yun up`, so it and every template and instance inherit the
    affinity: gateway and functions share the server core.
    """

    def __init__(self, cpu: int | None = SERVER_CPU, env: dict[str, str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="yun-bench-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        cmd = pinned([VENV / "yun", "up", "--port", str(self.port), "--data-dir", self.data], cpu)
        self.proc = Proc("yun", cmd, env={"YUN_DRAIN_SECONDS": "5", **(env or {})}, cwd=self.dir)

    def __enter__(self) -> Yun:
        try:
            self.proc.wait_for("yun is up", 60)
            self.key = (self.data / "admin.key").read_text().strip()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.proc.stop(signal.SIGINT, grace=20)
        shutil.rmtree(self.dir, ignore_errors=True)
        # A `yun up` that had to be killed leaves its cgroups (the next start would remove them).
        for owner in self._owner_dirs():
            # Deepest first: instances sit in tenant groups in the cpu tree.
            for group in [*sorted(owner.rglob("*/"), key=lambda p: -len(p.parts)), owner]:
                with suppress(OSError):
                    group.rmdir()

    def _owner_dirs(self) -> list[Path]:
        roots = [Path("/sys/fs/cgroup/yun"), *Path("/sys/fs/cgroup").glob("*/yun")]
        return [r / f"up-{self.proc.pid}" for r in roots if (r / f"up-{self.proc.pid}").is_dir()]

    def deploy(self, folder: Path, **changes: Any) -> str:
        """Deploy `folder` through the CLI, with `changes` merged into its yun.yaml."""
        if changes:
            copy = self.dir / f"src-{len(list(self.dir.glob('src-*')))}"
            shutil.copytree(folder, copy)
            manifest = yaml.safe_load((copy / "yun.yaml").read_text())
            for key, value in changes.items():
                if isinstance(value, dict):
                    manifest.setdefault(key, {}).update(value)
                else:
                    manifest[key] = value
            (copy / "yun.yaml").write_text(yaml.safe_dump(manifest))
            folder = copy
        env = {**os.environ, "YUN_URL": self.url, "YUN_DATA_DIR": str(self.data)}
        subprocess.run([str(VENV / "yun"), "deploy", str(folder)], env=env, check=True,
                       timeout=120, capture_output=True)
        return str(yaml.safe_load((folder / "yun.yaml").read_text())["name"])

    def unthrottle(self) -> None:
        """Raise the default tenant's invocation rate quota (10,000/s by default, as Lambda's
        per-function request rate) far above what one core serves: throughput runs measure
        the data path, not the quota."""
        env = {**os.environ, "YUN_URL": self.url, "YUN_DATA_DIR": str(self.data)}
        subprocess.run([str(VENV / "yun"), "tenant", "quota", "default",
                        "invocations_per_second=1000000", "invocation_burst=1000000"],
                       env=env, check=True, timeout=60, capture_output=True)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}

    def activation(self, activation_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The activation record (written in batches, so it may take a moment to appear)."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = request(self.port, "GET", f"/v1/activations/{activation_id}",
                                   headers=self.headers())
            if status == 200:
                return dict(json.loads(body))
            if time.monotonic() > deadline:
                raise RuntimeError(f"activation {activation_id}: HTTP {status} {body[:200]!r}")
            time.sleep(0.05)

    def cgroups(self, function: str) -> list[str]:
        """Names of the cgroups of `function`'s templates (`…@N.t…`) and instances."""
        prefix = f"default.{function}@"
        for owner in self._owner_dirs():  # the same names in every controller's tree
            return [p.name for p in owner.rglob(f"{prefix}*") if p.is_dir()]
        return []

    def at_zero(self, function: str) -> bool:
        """No instance and no template of `function` (from `/v1/instances`). A template's
        cgroup keeps the name of the blank it was made from, so `cgroups()` misses it."""
        status, body = request(self.port, "GET", "/v1/instances", headers=self.headers())
        if status != 200:
            raise RuntimeError(f"GET /v1/instances: HTTP {status} {body[:200]!r}")
        pools = [p for p in json.loads(body)["pools"] if p["function"] == function]
        return not pools or (not pools[0]["instances"] and not pools[0]["template"])

    def instance_count(self, function: str) -> int:
        return sum(1 for g in self.cgroups(function) if not re.search(r"@\d+\.t", g))

    def wait_until(self, done: Callable[[], bool], timeout: float, what: str) -> float:
        started = time.monotonic()
        while not done():
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{what} did not happen in {timeout:g} s")
            time.sleep(0.02)
        return time.monotonic() - started


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None,
            timeout: float = 60.0) -> tuple[int, bytes]:
    """One request on a fresh connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def timed_post(port: int, path: str, headers: dict[str, str] | None = None,
               timeout: float = 60.0) -> tuple[float, int, str | None]:
    """(milliseconds from connect to the last response byte, status, activation id)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body=BODY, headers=headers or {})
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, response.status, response.getheader("x-yun-activation-id")
    finally:
        conn.close()


# --- peers ------------------------------------------------------------------------------------


def floor_server(port: int, cpu: int = SERVER_CPU) -> Proc:
    """The bare ASGI app (the physical floor) under uvicorn with uvloop and httptools."""
    cmd = pinned([VENV / "uvicorn", "floor_asgi:app", "--host", HOST, "--port", str(port),
                  "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                  "--log-level", "warning"], cpu)
    proc = Proc("floor", cmd, cwd=PEERS)
    try:
        wait_http(port, 30)
    except BaseException:
        proc.stop()
        raise
    return proc


def ray_unavailable() -> str | None:
    """Why Ray Serve cannot run here, or None (it lives in its own venv: bench/.venv-ray)."""
    if not RAY_PYTHON.exists():
        return f"no {RAY_PYTHON.relative_to(BENCH)} (python3.11 -m venv bench/.venv-ray && " \
               "bench/.venv-ray/bin/pip install 'ray[serve]')"
    check = subprocess.run([str(RAY_PYTHON), "-c", "import ray.serve"], capture_output=True,
                           timeout=120)
    if check.returncode != 0:
        return f"import ray.serve failed: {check.stderr.decode(errors='replace')[-200:]}"
    if not (PEERS / "rayserve_hello.py").exists():
        return f"no {PEERS / 'rayserve_hello.py'}"
    return None


class RayProc(Proc):
    """Ray Serve's driver; stopping it also removes the session directory Ray left in /tmp/ray."""

    def __init__(self, port: int, cpu: int | None, script: Path | None = None) -> None:
        self.sessions_before = set(RAY_SESSIONS.glob("session_*"))
        super().__init__("ray", pinned([RAY_PYTHON, script or PEERS / "rayserve_hello.py",
                                        "--port", str(port)], cpu))

    def stop(self, sig: int = signal.SIGINT, grace: float = 15.0) -> None:
        super().stop(sig, grace)
        for session in set(RAY_SESSIONS.glob("session_*")) - self.sessions_before:
            shutil.rmtree(session, ignore_errors=True)
        latest = RAY_SESSIONS / "session_latest"
        if latest.is_symlink() and not latest.exists():
            latest.unlink()


def ray_server(port: int, cpu: int | None = SERVER_CPU, script: Path | None = None) -> Proc:
    """Ray Serve (min_replicas=0) with every Ray process pinned to the server core; the peer
    app is `script`, by default the shared hello peer."""
    proc = RayProc(port, cpu, script)
    try:
        proc.wait_for("ready", 180)
    except BaseException:
        proc.stop()
        raise
    return proc


def ray_replicas(proc: Proc) -> int:
    """Running Ray Serve replicas of the peer (processes named `ray::ServeReplica…`)."""
    count = 0
    for pid in session_pids(proc.pid):
        with suppress(OSError):
            count += Path(f"/proc/{pid}/comm").read_text().startswith("ray::ServeRepli")
    return count


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by `root` and its descendants: the living
    ones', and through their `cutime`/`cstime` the ones they reaped (an instance that exits
    between two readings would otherwise take its CPU out of the difference)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(entry)] = int(fields[1])
            # utime, stime, and cutime, cstime: the children it waited for
            ticks[int(entry)] = sum(int(f) for f in fields[11:15])
    total, stack = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


# --- wrk --------------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(port: int, path: str, *, threads: int, connections: int, seconds: float,
        headers: dict[str, str] | None = None, cpu: int = CLIENT_CPU) -> dict[str, float]:
    """Run wrk (POST of BODY) pinned to the client core; req/s, p50/p90/p99 ms, errors."""
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(BODY.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}"
              for k, v in {"Content-Type": "application/json", **(headers or {})}.items()]
    fd, script = tempfile.mkstemp(prefix="bench-wrk-", suffix=".lua")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        cmd = pinned(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
                      "-s", script, f"http://{HOST}:{port}{path}"], cpu)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             timeout=seconds + 60).stdout
    finally:
        os.unlink(script)
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    result: dict[str, float] = {"errors": 0.0}
    if m := re.search(r"(\d+) requests in", out):
        result["requests"] = float(m.group(1))
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        result["rps"] = float(m.group(1))
    for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        result[f"p{pct}"] = float(value) * _UNIT_MS[unit]
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        result["errors"] += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        result["errors"] += sum(int(g) for g in m.groups())
    if "rps" not in result or "p50" not in result:
        raise RuntimeError(f"could not parse wrk output:\n{out}")
    return result


# --- statistics and output --------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return pct(values, 50)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (pasted as is into bench/README.md)."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [f"**{title}**", "", line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # nan
            return "–"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 \
            else f"{value:.1f}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def load() -> str:
    """The 1-minute load average: other work on this 2-core machine shows up here."""
    return Path("/proc/loadavg").read_text().split()[0]


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')} · {os.cpu_count()} × {cpu} · Linux "
            f"{platform.release()} · Python {platform.python_version()} · load {' '.join(load)}")


def main(run: Callable[[bool], None]) -> None:
    """Entry point of each script: `--quick`, SIGTERM handled like Ctrl-C (cleanup runs)."""

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    pin_self(CLIENT_CPU)
    try:
        run("--quick" in sys.argv[1:])
    except KeyboardInterrupt:
        print("interrupted; every process started here was stopped", file=sys.stderr)
        sys.exit(130)
