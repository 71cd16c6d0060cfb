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
import time
from contextlib import ExitStack

from _harness import FUNCTIONS, Yun, load, median, pct, request, table, timed_post, tree_cpu


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
    owner = next(iter(yun._owner_dirs()), None)
    return owner is None or not any(p.name.startswith(prefix) for p in owner.iterdir())


def _distinct_ab(size: int, rounds: int, variants: list[tuple[str, dict[str, str]]]) -> None:
    """Interleaved rounds of the distinct-function burst, one `yun up` per variant."""
    results: dict[str, list[tuple[list[float], int, float, float, float]]] = {
        label: [] for label, _ in variants}
    with ExitStack() as stack:
        servers = []
        for label, env in variants:
            yun = stack.enter_context(Yun(cpu=None, env=env))
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                names = list(pool.map(
                    lambda i, y=yun: y.deploy(FUNCTIONS / "hello", name=f"burst-{i}",
                                              scale={"min": 0, "max": 1, "keep_alive": "1s"}),
                    range(size)))
            servers.append((label, yun, names))
        for _ in range(rounds):
            for label, yun, names in servers:
                yun.wait_until(lambda y=yun: _at_zero(y, "default.burst-"), 60, "scale to zero")
                time.sleep(1.0)  # blanks refilled, machine settled
                before, cpu_before = _cold_starts(yun), tree_cpu(yun.proc.pid)
                client_before = sum(os.times()[:2])
                latencies, failures, elapsed = _burst(yun, [f"/fn/{n}" for n in names])
                cpu = tree_cpu(yun.proc.pid) - cpu_before
                client = sum(os.times()[:2]) - client_before
                created = _cold_starts(yun) - before
                results[label].append((latencies, failures, created / elapsed,
                                       cpu * 1000 / max(created, 1),
                                       client * 1000 / len(names)))
                print(f"{label}: p50 {median(latencies):.0f} p99 {pct(latencies, 99):.0f} ms, "
                      f"{created / elapsed:.0f}/s, yun CPU {cpu * 1000 / max(created, 1):.1f} "
                      f"ms per cold start, load {load()}", flush=True)
    rows = []
    for label, env in variants:
        runs = results[label]
        rows.append([label, " ".join(f"{k}={v}" for k, v in env.items()) or "(defaults)",
                     len(runs), median([pct(r[0], 50) for r in runs]),
                     median([pct(r[0], 99) for r in runs]),
                     " / ".join(f"{pct(r[0], 99):.0f}" for r in runs),
                     median([r[2] for r in runs]), median([r[3] for r in runs]),
                     median([r[4] for r in runs]), sum(r[1] for r in runs)])
    print(table(f"1 request → each of {size} functions at zero, interleaved (medians of rounds; "
                f"load {load()} at the end)",
                ["variant", "env", "rounds", "p50 ms", "p99 ms", "p99 per round", "instances/s",
                 "yun CPU ms per cold start", "client CPU ms per request", "failures"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--distinct", action="store_true",
                        help="only the distinct-function burst, interleaved over --variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", action="append", default=[],
                        help="LABEL:K=V,K=V (environment of that variant's yun up)")
    args = parser.parse_args()
    if args.distinct:
        _distinct_ab(args.size, args.rounds,
                     [_variant(v) for v in args.variant] or [("default", {})])
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
