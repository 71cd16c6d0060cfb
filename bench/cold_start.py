"""Cold start: time from request to response for a function with zero instances.

Yun: `hello` (keep_alive 1 s) is left until the autoscaler has removed its instance and its
template (no cgroup of `default.hello@…` left), then one POST on a fresh connection is timed;
`init_ms` comes from the activation record. Peers, interleaved with Yun round by round: a fresh
interpreter that imports the same handler and prints its result (spawn to exit), with and
without `site`. Ray Serve (min_replicas=0), if installed, runs afterwards in its own phase (its
idle processes use ~7 % of a core, which would weigh on the others): the first request after
≥ 25 s idle and no replica process left.

    .venv/bin/python bench/cold_start.py [--quick]
"""

from __future__ import annotations

import subprocess
import time

import _harness as h

HANDLER = h.FUNCTIONS / "hello"
PRINT = (f"import sys; sys.path.insert(0, {str(HANDLER)!r}); import json; from main import handle; "
         "print(json.dumps(handle({'name': 'bench'}, None)))")
EXEC_PEERS = {
    "exec python -c (fresh interpreter)": [str(h.VENV / "python"), "-c", PRINT],
    "exec python -I -S -c (no site)": [str(h.VENV / "python"), "-I", "-S", "-c", PRINT],
}
RAY_IDLE = 25.0  # seconds; Ray's downscale_delay_s is 5


def yun_round(yun: h.Yun, n: int) -> tuple[list[float], list[dict[str, float]]]:
    """n cold starts: client ms, and the activation records (init_ms, duration_ms, …)."""
    totals, ids = [], []
    for _ in range(n):
        # No instance and no template: a template left from the last instance (dropped at
        # the next tick) would make this a fork, not a cold start.
        yun.wait_until(lambda: yun.at_zero("hello"), 30, "hello scaling to zero")
        ms, status, activation = h.timed_post(yun.port, "/fn/hello", yun.headers())
        if status != 200 or activation is None:
            raise RuntimeError(f"POST /fn/hello answered {status}")
        totals.append(ms)
        ids.append(activation)
    return totals, [yun.activation(i) for i in ids]


def exec_round(cmd: list[str], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def ray_samples(n: int) -> list[float]:
    port = h.free_port()
    with h.running(h.ray_server(port)) as ray:
        samples: list[float] = []
        last = time.monotonic()
        for _ in range(n):
            deadline = time.monotonic() + 120
            while ray_busy(ray, last):
                if time.monotonic() > deadline:
                    raise TimeoutError("Ray Serve did not scale to zero in 120 s")
                time.sleep(0.2)
            ms, status, _ = h.timed_post(port, "/")
            last = time.monotonic()
            if status != 200:
                raise RuntimeError(f"Ray Serve answered {status}")
            samples.append(ms)
            print(f"  ray cold start {len(samples)}/{n}: {ms:.0f} ms", flush=True)
        return samples


def ray_busy(ray: h.Proc, last: float) -> bool:
    return time.monotonic() - last < RAY_IDLE or h.ray_replicas(ray) > 0


def run(quick: bool) -> None:
    rounds, per_round, ray_n = (2, 10, 2) if quick else (5, 30, 5)
    print(f"# cold start · {h.machine()}", flush=True)
    results: dict[str, list[list[float]]] = {"yun": [], **{k: [] for k in EXEC_PEERS}}
    records: list[dict[str, float]] = []
    with h.Yun() as yun:
        yun.deploy(HANDLER)
        for r in range(rounds):  # A B C, A B C, …
            totals, recs = yun_round(yun, per_round)
            results["yun"].append(totals)
            records += recs
            for name, cmd in EXEC_PEERS.items():
                results[name].append(exec_round(cmd, per_round))
            print(f"  round {r + 1}/{rounds}: yun p50 {h.median(totals):.1f} ms, exec p50 "
                  f"{h.median(results[next(iter(EXEC_PEERS))][-1]):.1f} ms", flush=True)
    why_not = h.ray_unavailable()
    ray = [] if why_not else ray_samples(ray_n)
    print(report(results, records, ray, why_not, rounds, per_round))
    print(f"(load average at the end: {h.load()})")


def report(results: dict[str, list[list[float]]], records: list[dict[str, float]],
           ray: list[float],
           why_not: str | None, rounds: int, per_round: int) -> str:
    yun_all = [x for r in results["yun"] for x in r]
    yun_p50, yun_p99 = h.median(yun_all), h.pct(yun_all, 99)
    rows: list[list[object]] = []
    for name, runs in results.items():
        flat = [x for r in runs for x in r]
        label = "Yun POST /fn/hello at zero instances" if name == "yun" else name
        rows.append([label, len(flat), h.median(flat), h.pct(flat, 99),
                     " / ".join(f"{h.median(r):.1f}" for r in runs),
                     h.median(flat) / yun_p50, h.pct(flat, 99) / yun_p99])
    if ray:
        rows.append([f"Ray Serve, first request after ≥ {RAY_IDLE:g} s idle", len(ray),
                     h.median(ray), max(ray), " / ".join(f"{x:.0f}" for x in ray),
                     h.median(ray) / yun_p50, max(ray) / yun_p99])
    else:
        rows.append([f"ray: not available ({why_not})", 0, "–", "–", "–", "–", "–"])
    out = h.table(
        f"Cold start, ms ({rounds} interleaved rounds × {per_round}; Ray: its own phase, p99 = "
        "max of its samples)",
        ["system", "n", "p50", "p99", "p50 per round", "p50 ÷ Yun", "p99 ÷ Yun"], rows)
    out += "\n" + h.table(
        "Yun cold start against the targets",
        ["figure", "value (ms)", "target", ""],
        [["client p50", yun_p50, "≤ 10", h.verdict(yun_p50 <= 10)],
         ["client p99", yun_p99, "≤ 50", h.verdict(yun_p99 <= 50)],
         *[[f"{label} p50 · p99", f"{h.median(v):.2f} · {h.pct(v, 99):.2f}", "", ""]
           for label, v in breakdown(yun_all, records).items()]])
    return out


def breakdown(totals: list[float], records: list[dict[str, float]]) -> dict[str, list[float]]:
    """Where a cold start's time goes, from the activation records (same order as totals)."""
    init = [float(r["init_ms"]) for r in records]
    duration = [float(r["duration_ms"]) for r in records]
    return {
        "init_ms (record: blank + import, the blank serving)": init,
        "duration_ms of the first call (record)": duration,
        "rest: gateway, HTTP, client (client − init − duration)":
            [t - i - d for t, i, d in zip(totals, init, duration, strict=True)],
    }


if __name__ == "__main__":
    h.main(run)
