"""Bursts at zero: 100 concurrent first requests to one function, and one request to each of
100 distinct functions at once. Instances created per second, p99 first response, failures.

    sudo .venv/bin/python bench/burst.py [--size 100]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import time

from _harness import FUNCTIONS, Yun, median, pct, request, table, timed_post


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
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
