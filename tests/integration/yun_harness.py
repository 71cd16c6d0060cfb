"""A real `yun up` subprocess on a free port, driven over HTTP and through the CLI.

A module with a unique name (not `conftest`) so tests import it unambiguously.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = Path(__file__).resolve().parent / "functions"
YUN = str(Path(sys.executable).parent / "yun")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Yun:
    data_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> str:
        return (self.data_dir / "admin.key").read_text().strip()

    def start(self, timeout: float = 30.0) -> None:
        self.log = self.data_dir.parent / f"yun-up-{self.port}-{time.time_ns()}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [YUN, "up", "--port", str(self.port), "--data-dir", str(self.data_dir)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"yun up exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        # Not left running: a test that fails here has no `stop()` to come.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None
        raise RuntimeError(f"yun up did not answer within {timeout} s: {self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self.process = None
        return code

    def http(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout,
                            headers={"Authorization": f"Bearer {self.key}"})

    def cli(self, *args: str, input: str | None = None,
            timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "YUN_URL": self.url, "YUN_DATA_DIR": str(self.data_dir)}
        env.pop("YUN_API_KEY", None)
        return subprocess.run([YUN, *args], capture_output=True, text=True, env=env,
                              input=input, timeout=timeout, check=False)

    def deploy(self, folder: Path | str) -> subprocess.CompletedProcess[str]:
        result = self.cli("deploy", str(folder))
        assert result.returncode == 0, result.stderr + result.stdout
        return result


def sandbox_processes(yun: Yun) -> set[int]:
    """Pids of this `yun up`'s zygote and of every process in its cgroups."""
    assert yun.process is not None
    owner = yun.process.pid
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            groups = (proc / "cgroup").read_text()
        except (OSError, ValueError, IndexError):
            continue
        if (comm == "yun-zygote" and ppid == owner) or f"/yun/up-{owner}/" in groups:
            found.add(int(proc.name))
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if _running(pid)}


def _running(pid: int) -> bool:
    try:  # a process may exit between the look and the read
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:1]
    except OSError:
        return False


def activation(http: httpx.Client, activation_id: str, timeout: float = 5.0) -> dict[str, object]:
    """The activation record, once the recorder has written it (batches every ≤ 50 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/v1/activations/{activation_id}")
        if response.status_code == 200:
            return response.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"no record for {activation_id}"
        time.sleep(0.05)


def instance_groups(yun: Yun, version: str) -> list[str]:
    """Instance cgroups of a function version, e.g. "hello@1" (templates end in `.t<hex>`)."""
    assert yun.process is not None
    base = Path("/sys/fs/cgroup/memory/yun") / f"up-{yun.process.pid}"
    if not base.exists():
        base = Path("/sys/fs/cgroup/yun") / f"up-{yun.process.pid}"
    prefix = f"default.{version}."
    return [d.name for d in base.iterdir()
            if d.name.startswith(prefix) and not d.name[len(prefix):].startswith("t")]
