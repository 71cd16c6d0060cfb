"""Bursts at zero: 100 concurrent first requests to one function, and one request to each of
100 distinct functions at once. Instances created per second, p99 first response, failures.

    sudo .venv/bin/python bench/burst.py [--size 100]

A/B of the 100-function burst between settings, interleaved in one run (one `yun up` per
variant, all deployed first; each round bursts every variant in turn, then waits until every
function is back at zero):

    sudo .venv/bin/python bench/burst.py --distinct --rounds 5 \
        --variant base:YUN_BLANKS=2 --variant wide:YUN_BLANKS=100
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import yaml
from _harness import (
    FUNCTIONS,
    VENV,
    Yun,
    load,
    median,
    pct,
    request,
    table,
    timed_post,
    tree_cpu,
)


def _cold_starts(yun: Yun) -> int:
    status, body = request(yun.port, "GET", "/v1/instances", headers=yun.headers())
    assert status == 200, body
    return sum(int(p["cold_starts"]) for p in json.loads(body)["pools"])


def _burst(yun: Yun, paths: list[str]) -> tuple[list[float], int, float]:
    """(latencies ms, failures, seconds from the first request to the last response)."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(paths)) as pool:
        results = list(pool.map(lambda p: timed_post(yun.port, p, yun.headers()), paths))
    elapsed = time.perf_counter() - started
    failures = sum(1 for _, status, _ in results if status != 200)
    return [ms for ms, _, _ in results], failures, elapsed


def _variant(text: str) -> tuple[str, dict[str, str]]:
    label, _, settings = text.partition(":")
    env = dict(item.split("=", 1) for item in settings.split(",") if item)
    return label, env


def _at_zero(yun: Yun, prefix: str) -> bool:
    """No instance and no template of any function named `prefix…` (a template's cgroup
    keeps its blank's name, so the cgroups alone do not tell)."""
    status, body = request(yun.port, "GET", "/v1/instances", headers=yun.headers())
    if status != 200:
        raise RuntimeError(f"GET /v1/instances: HTTP {status} {body[:200]!r}")
    return not any(p["instances"] or p["template"] for p in json.loads(body)["pools"]
                   if p["function"].startswith(prefix))


def _deploy_many(yun: Yun, size: int) -> list[str]:
    """`size` copies of hello (keep_alive 1 s, so a round ends at zero), deployed 8 at a time."""
    folders = []
    for i in range(size):
        folder = yun.dir / f"burst-src-{i}"
        shutil.copytree(FUNCTIONS / "hello", folder)
        manifest = yaml.safe_load((folder / "yun.yaml").read_text())
        manifest.update(name=f"burst-{i}", scale={"min": 0, "max": 1, "keep_alive": "1s"})
        (folder / "yun.yaml").write_text(yaml.safe_dump(manifest))
        folders.append(folder)
    env = {**os.environ, "YUN_URL": yun.url, "YUN_DATA_DIR": str(yun.data)}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda f: subprocess.run([str(VENV / "yun"), "deploy", str(f)], env=env,
                                               check=True, timeout=300, capture_output=True),
                      folders))
    return [f"burst-{i}" for i in range(size)]


class CpuAccount:
    """CPU of a process tree, exited processes included: a cgroup v1 `cpuacct` group that the
    tree is started in (Yun never moves its processes in that hierarchy). Without cpuacct,
    the living descendants' CPU (misses processes that exited, e.g. each template's first)."""

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self, label: str) -> None:
        self.dir = self.ROOT / f"yun-burst-{os.getpid()}-{label}"
        self.available = self.ROOT.is_dir()
        if self.available:
            self.dir.mkdir(exist_ok=True)

    @contextmanager
    def inherited(self) -> Iterator[None]:
        """Processes started inside this block are counted (this one is moved in and out)."""
        if self.available:
            (self.dir / "cgroup.procs").write_text(str(os.getpid()))
        try:
            yield
        finally:
            if self.available:
                (self.ROOT / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self, root_pid: int) -> float:
        if self.available:
            return int((self.dir / "cpuacct.usage").read_text()) / 1e9
        return tree_cpu(root_pid)

    def remove(self) -> None:
        with suppress(OSError):
            self.dir.rmdir()


def _settle_blanks(yun: Yun) -> int:
    """Wait until the node's pool of blank sandboxes stopped changing (refilled after the last
    burst), then 1 s more for them to finish preparing; their count."""
    owner = next(iter(yun._owner_dirs()))
    counts: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        counts.append(sum(1 for p in owner.iterdir() if p.name.startswith("blank.")))
        if len(counts) >= 5 and len(set(counts[-5:])) == 1:
            break
        time.sleep(0.1)
    time.sleep(1.0)
    return counts[-1]


def _own_cpu(pid: int) -> float:
    """CPU seconds of one process (all its threads): `yun up` itself, gateway and agent."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _distinct_ab(size: int, rounds: int, variants: list[tuple[str, dict[str, str]]],
                 warmup: int, one: bool = False) -> None:
    """Interleaved rounds of the distinct-function burst, one `yun up` per variant."""
    results: dict[str, list[tuple[list[float], int, float, float, float]]] = {
        label: [] for label, _ in variants}
    with ExitStack() as stack:
        servers = []
        for label, env in variants:
            account = CpuAccount(label)
            stack.callback(account.remove)
            with account.inherited():
                yun = stack.enter_context(Yun(cpu=None, env=env))
            if one:  # the same A/B for the burst of `size` requests to one function
                names = [yun.deploy(FUNCTIONS / "hello", name="burst-one",
                                    scale={"min": 0, "max": size, "keep_alive": "1s"})] * size
            else:
                names = _deploy_many(yun, size)
            servers.append((label, yun, names, account))
        for round_ in range(warmup + rounds):
            for label, yun, names, account in servers:
                yun.wait_until(lambda y=yun: _at_zero(y, "burst-"), 60, "scale to zero")
                blanks = _settle_blanks(yun)
                before, cpu_before = _cold_starts(yun), account.seconds(yun.proc.pid)
                own_before = _own_cpu(yun.proc.pid)
                client_before = sum(os.times()[:2])
                latencies, failures, elapsed = _burst(yun, [f"/fn/{n}" for n in names])
                cpu = account.seconds(yun.proc.pid) - cpu_before
                own = _own_cpu(yun.proc.pid) - own_before
                client = sum(os.times()[:2]) - client_before
                created = _cold_starts(yun) - before
                n = max(created, 1)
                if round_ >= warmup:
                    results[label].append((latencies, failures, created / elapsed,
                                           cpu * 1000 / n, client * 1000 / len(names),
                                           own * 1000 / n))
                tag = f"{'warm-up ' if round_ < warmup else ''}{blanks} blanks, "
                print(f"{tag}{label}: p50 {median(latencies):.0f} p99 {pct(latencies, 99):.0f} ms, "
                      f"{created / elapsed:.0f}/s, CPU per cold start: yun {cpu * 1000 / n:.1f} "
                      f"ms (yun up itself {own * 1000 / n:.1f}), client "
                      f"{client * 1000 / len(names):.1f}; load {load()}", flush=True)
    rows = []
    for label, env in variants:
        runs = results[label]
        rows.append([label, " ".join(f"{k}={v}" for k, v in env.items()) or "(defaults)",
                     len(runs), median([pct(r[0], 50) for r in runs]),
                     median([pct(r[0], 99) for r in runs]),
                     " / ".join(f"{pct(r[0], 99):.0f}" for r in runs),
                     median([r[2] for r in runs]), median([r[3] for r in runs]),
                     median([r[5] for r in runs]), median([r[4] for r in runs]),
                     sum(r[1] for r in runs)])
    what = f"{size} requests → 1 function" if one else f"1 request → each of {size} functions"
    print(table(f"{what} at zero, interleaved (medians of rounds; "
                f"load {load()} at the end)",
                ["variant", "env", "rounds", "p50 ms", "p99 ms", "p99 per round", "instances/s",
                 "CPU ms per cold start (yun, all)", "of it yun up itself",
                 "client CPU ms per request", "failures"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--distinct", action="store_true",
                        help="only the distinct-function burst, interleaved over --variant")
    parser.add_argument("--one", action="store_true",
                        help="with --distinct: the A/B of the one-function burst instead")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=0,
                        help="bursts per variant before the counted rounds (printed apart)")
    parser.add_argument("--variant", action="append", default=[],
                        help="LABEL:K=V,K=V (environment of that variant's yun up)")
    args = parser.parse_args()
    if args.distinct:
        _distinct_ab(args.size, args.rounds,
                     [_variant(v) for v in args.variant] or [("default", {})], args.warmup,
                     one=args.one)
        return
    rows = []
    # The target is stated for the whole machine ("on 2 cores"): nothing is pinned here.
    with Yun(cpu=None) as yun:
        one = yun.deploy(FUNCTIONS / "hello", name="burst",
                         scale={"min": 0, "max": args.size, "keep_alive": "10m"})
        before = _cold_starts(yun)
        latencies, failures, elapsed = _burst(yun, [f"/fn/{one}"] * args.size)
        created = _cold_starts(yun) - before
        rows.append([f"{args.size} requests → 1 function at zero", created,
                     created / elapsed, median(latencies), pct(latencies, 99), failures])
        names = [yun.deploy(FUNCTIONS / "hello", name=f"burst-{i}",
                            scale={"min": 0, "max": 1, "keep_alive": "10m"})
                 for i in range(args.size)]
        before = _cold_starts(yun)
        latencies, failures, elapsed = _burst(yun, [f"/fn/{n}" for n in names])
        created = _cold_starts(yun) - before
        rows.append([f"1 request → each of {args.size} functions at zero", created,
                     created / elapsed, median(latencies), pct(latencies, 99), failures])
    print(table("Bursts at zero (targets: ≥ 100 instances/s on 2 cores, p99 ≤ 300 ms, 0 failures)",
                ["burst", "instances", "instances/s", "p50 ms", "p99 ms", "failures"], rows))


if __name__ == "__main__":
    main()
