"""Step response: 0 → N concurrent clients for S seconds against a handler waiting 50 ms, then
idle. Yun (`bench/functions/sleep50`: one request per instance, keep_alive 30 s) and Ray Serve
(`bench/step/rayserve_sleep50.py`: min_replicas 0, 5 requests per replica, downscale delay
30 s) side by side, interleaved rounds, a fresh server for each.

Per run: the first 1-second bucket of requests whose p99 is under 2× the handler time (time
to capacity) and how many later buckets of the load went over it again (a busy machine's
noise shows here), the longest queueing delay (latency − 50 ms), failures,
the instance curve (Yun: `/v1/instances`; Ray: `ray::ServeReplica` processes), and the time
from the end of the load until no instance is left.

    .venv/bin/python bench/step_response.py [--clients 50] [--seconds 60] [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import _harness as h

HANDLER_MS = 50.0
SLEEP50 = h.FUNCTIONS / "sleep50"
RAY_APP = h.BENCH / "step" / "rayserve_sleep50.py"


@dataclass
class Step:
    samples: list[tuple[float, float, int]]  # (sent, s after the step; latency ms; status)
    curve: list[tuple[float, int]]  # (s after the step, instances)
    load_seconds: float

    def capacity(self) -> tuple[float | None, int]:
        """(start of the first 1-second bucket whose p99 is < 2× the handler time, how many
        later whole buckets of the load were over it)."""
        buckets: dict[int, list[float]] = {}
        for sent, latency, _ in self.samples:
            if sent < int(self.load_seconds):  # the last, partial second ends mid-request
                buckets.setdefault(int(sent), []).append(latency)
        over = [h.pct(buckets[s], 99) >= 2 * HANDLER_MS for s in sorted(buckets)]
        if False not in over:
            return None, len(over)
        first = over.index(False)
        return float(sorted(buckets)[first]), sum(over[first:])

    def time_to_zero(self) -> float | None:
        after = [t for t, n in self.curve if t >= self.load_seconds and n == 0]
        return after[0] - self.load_seconds if after else None

    def row(self, system: str) -> list[object]:
        latencies = [latency for _, latency, _ in self.samples]
        peak = max(n for _, n in self.curve)
        capacity, relapses = self.capacity()
        return [system, len(self.samples), sum(1 for *_, s in self.samples if s != 200),
                capacity, relapses, max(latencies) - HANDLER_MS, h.pct(latencies, 99),
                peak, next(t for t, n in self.curve if n == peak), self.time_to_zero()]


def run_step(port: int, path: str, headers: dict[str, str], clients: int, seconds: float,
             instances: Callable[[], int], idle: float) -> Step:
    samples: list[tuple[float, float, int]] = []
    stop = threading.Event()
    step = time.perf_counter()

    def client() -> None:
        conn = http.client.HTTPConnection(h.HOST, port, timeout=30)
        while not stop.is_set():
            sent = time.perf_counter()
            try:
                conn.request("POST", path, body=h.BODY, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection(h.HOST, port, timeout=30)
            samples.append((sent - step, (time.perf_counter() - sent) * 1000, status))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    curve = []
    while time.perf_counter() - step < seconds:
        curve.append((time.perf_counter() - step, instances()))
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    load_seconds = time.perf_counter() - step
    while time.perf_counter() - step < load_seconds + idle:
        count = instances()
        curve.append((time.perf_counter() - step, count))
        if count == 0:
            break
        time.sleep(0.5)
    return Step(samples, curve, load_seconds)


def yun_step(clients: int, seconds: float, idle: float) -> Step:
    with h.Yun() as yun:
        yun.deploy(SLEEP50)

        def instances() -> int:
            status, body = h.request(yun.port, "GET", "/v1/instances", headers=yun.headers())
            assert status == 200, body
            return sum(int(p["instances"]) for p in json.loads(body)["pools"])

        return run_step(yun.port, "/fn/sleep50", yun.headers(), clients, seconds, instances,
                        idle)


def ray_step(clients: int, seconds: float, idle: float) -> Step:
    port = h.free_port()
    with h.running(h.ray_server(port, script=RAY_APP)) as ray:
        deadline = time.monotonic() + 60
        while h.ray_replicas(ray) and time.monotonic() < deadline:
            time.sleep(0.5)
        return run_step(port, "/", {"Content-Type": "application/json"}, clients, seconds,
                        lambda: h.ray_replicas(ray), idle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=120.0, help="wait this long for zero")
    args = parser.parse_args()
    h.pin_self(h.CLIENT_CPU)
    unavailable = h.ray_unavailable()
    print(f"# step response · {h.machine()}", flush=True)
    rows: list[list[object]] = []
    steps: dict[str, list[Step]] = {"yun": [], "ray serve": []}
    for _ in range(args.rounds):
        steps["yun"].append(yun_step(args.clients, args.seconds, args.idle))
        rows.append(steps["yun"][-1].row("yun"))
        if unavailable is None:
            steps["ray serve"].append(ray_step(args.clients, args.seconds, args.idle))
            rows.append(steps["ray serve"][-1].row("ray serve"))
        print(h.table("so far", HEADERS, rows[-2:]), flush=True)
    if unavailable is not None:
        print(f"Ray Serve skipped: {unavailable}")
    print(h.table(f"Step 0 → {args.clients} clients for {args.seconds:g} s, handler 50 ms "
                  f"({args.rounds} interleaved rounds)", HEADERS, rows))
    for system, runs in steps.items():
        if runs:
            curve = runs[-1].curve
            points = [f"{t:.1f}s:{n}" for t, n in curve[:: max(1, len(curve) // 24)]]
            print(f"{system} instance curve (last round): {' '.join(points)}")


HEADERS = ["system", "requests", "failures", "time to capacity s", "seconds over after",
           "max queueing ms",
           "p99 ms", "peak instances", "peak at s", "back to zero after s"]


if __name__ == "__main__":
    main()
