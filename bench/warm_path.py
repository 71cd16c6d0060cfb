"""Warm path: the same handler served warm by Yun, by a bare ASGI app, and by Ray Serve.

(a) Added latency at one connection (`wrk -t1 -c1`): p50 of Yun's `POST /fn/hello` minus p50
of the bare uvicorn app (floor_asgi.py, uvloop + httptools). (b) Throughput at 64 connections
(`wrk -t2 -c64`) with `hello-c8` (8 in flight per instance, up to 4 instances), with the CPU
time the server's process tree used per request (from /proc, so it hardly moves when other work
shares the core, unlike req/s).

Servers run on core 0 (`taskset -c 0`; Yun's zygote, templates and instances inherit it from
`yun up`), wrk on core 1. Phase 1 interleaves Yun and the floor (A B A B …) with Ray not
running; phase 2, if Ray is installed, starts Ray Serve and interleaves it with Yun (Ray's idle
processes use ~7 % of core 0, so they stay out of phase 1). Every measured run is preceded by a
discarded warm-up run of the same shape, which also brings scaled-to-zero Ray back up.

    .venv/bin/python bench/warm_path.py [--quick]
"""

from __future__ import annotations

import time
from collections.abc import Callable

import _harness as h

Target = Callable[[int, int, float], dict[str, float]]  # (threads, connections, s) → wrk result


def target(port: int, path: str, server: int, headers: dict[str, str] | None = None) -> Target:
    """wrk against `path`, adding the CPU the server's process tree used per request (µs):
    unlike req/s, it hardly changes when other work shares the core."""

    def run(threads: int, connections: int, seconds: float) -> dict[str, float]:
        before = h.tree_cpu(server)
        result = h.wrk(port, path, threads=threads, connections=connections, seconds=seconds,
                       headers=headers)
        result["cpu_us"] = (h.tree_cpu(server) - before) * 1e6 / max(1.0, result["requests"])
        return result

    return run


def measure(targets: dict[str, Target], rounds: int, threads: int, connections: int,
            seconds: float, warmup: float) -> dict[str, list[dict[str, float]]]:
    """A B A B …: each round runs every target once (after its own warm-up run)."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for r in range(rounds):
        for name, target in targets.items():
            target(threads, connections, warmup)
            runs[name].append(result := target(threads, connections, seconds))
            print(f"  -c{connections} round {r + 1}/{rounds} {name}: {result['rps']:,.0f} req/s, "
                  f"p50 {result['p50']:.3f} ms, {result['cpu_us']:.0f} µs CPU/req, "
                  f"errors {result['errors']:.0f}", flush=True)
    return runs


def wake_ray(port: int) -> None:
    """Ray scales to zero after 5 s idle: send requests until one is fast again (≤ 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ms, status, _ = h.timed_post(port, "/")
        if status == 200 and ms < 200:
            return
    raise TimeoutError("Ray Serve did not answer quickly within 60 s")


def run(quick: bool) -> None:
    rounds = 2 if quick else 5
    lat_s, tput_s, warm_s = (3, 4, 1) if quick else (5, 8, 2)
    print(f"# warm path · {h.machine()}", flush=True)
    with h.Yun() as yun:
        yun.deploy(h.FUNCTIONS / "hello", scale={"keep_alive": "10m"})
        yun.deploy(h.FUNCTIONS / "hello_c8")
        yun.unthrottle()
        yun1 = target(yun.port, "/fn/hello", yun.proc.pid, yun.headers())
        yun64 = target(yun.port, "/fn/hello-c8", yun.proc.pid, yun.headers())
        port = h.free_port()
        with h.running(h.floor_server(port)) as floor_proc:
            floor = target(port, "/", floor_proc.pid)
            lat = measure({"yun": yun1, "floor": floor}, rounds, 1, 1, lat_s, warm_s)
            tput = measure({"yun": yun64, "floor": floor}, rounds, 2, 64, tput_s, warm_s)
        why_not = h.ray_unavailable()
        ray_lat = ray_tput = None
        if why_not is None:
            ray_port = h.free_port()
            with h.running(h.ray_server(ray_port)) as ray_proc:
                ray_wrk = target(ray_port, "/", ray_proc.pid)

                def ray(t: int, c: int, s: float) -> dict[str, float]:
                    wake_ray(ray_port)
                    return ray_wrk(t, c, s)

                ray_lat = measure({"yun": yun1, "ray": ray}, rounds, 1, 1, lat_s, warm_s)
                ray_tput = measure({"yun": yun64, "ray": ray}, rounds, 2, 64, tput_s, warm_s)
        instances = yun.instance_count("hello-c8")
    print(report(lat, tput, ray_lat, ray_tput, why_not, rounds, lat_s, tput_s, instances))
    print(f"(load average at the end: {h.load()})")


def med(runs: list[dict[str, float]], key: str) -> float:
    return h.median([r[key] for r in runs])


def per_run(runs: list[dict[str, float]], key: str, fmt: str) -> str:
    return " / ".join(format(r[key], fmt) for r in runs)


def row(label: str, phase: str, lat: list[dict[str, float]],
        tput: list[dict[str, float]]) -> list[object]:
    errors = sum(r["errors"] for r in lat + tput)  # non-2xx responses and socket errors
    return [label, phase, med(lat, "p50"), med(lat, "p99"), per_run(lat, "p50", ".3f"),
            med(tput, "rps"), med(tput, "p50"), per_run(tput, "rps", ",.0f"),
            med(tput, "cpu_us"), f"{errors:.0f}"]


def report(lat: dict[str, list[dict[str, float]]], tput: dict[str, list[dict[str, float]]],
           ray_lat: dict[str, list[dict[str, float]]] | None,
           ray_tput: dict[str, list[dict[str, float]]] | None, why_not: str | None,
           rounds: int, lat_s: float, tput_s: float, instances: int) -> str:
    added = med(lat["yun"], "p50") - med(lat["floor"], "p50")
    ratio = med(tput["yun"], "rps") / med(tput["floor"], "rps")
    rows = [row("bare uvicorn app (floor)", "phase 1", lat["floor"], tput["floor"]),
            row("Yun /fn/hello · /fn/hello-c8", "phase 1", lat["yun"], tput["yun"])]
    targets: list[list[object]] = [
        ["Yun p50 − floor p50 at 1 connection (ms)", added, "≤ 0.5", h.verdict(added <= 0.5)],
        ["Yun p50 ÷ floor p50 at 1 connection", med(lat["yun"], "p50") / med(lat["floor"], "p50"),
         "", ""],
        ["Yun req/s ÷ floor req/s at 64 connections", ratio, "≥ 0.60", h.verdict(ratio >= 0.6)],
        ["floor CPU per request ÷ Yun CPU per request at 64 connections",
         med(tput["floor"], "cpu_us") / med(tput["yun"], "cpu_us"), "", ""],
    ]
    if ray_lat and ray_tput:
        rows.append(row("Yun /fn/hello · /fn/hello-c8", "phase 2", ray_lat["yun"], ray_tput["yun"]))
        rows.append(row("Ray Serve (min_replicas 0, max 2)", "phase 2", ray_lat["ray"],
                        ray_tput["ray"]))
        vs_ray = med(ray_tput["yun"], "rps") / med(ray_tput["ray"], "rps")
        targets.append(["Yun req/s ÷ Ray Serve req/s at 64 connections (phase 2)", vs_ray, "≥ 20",
                        h.verdict(vs_ray >= 20)])
        targets.append(["Ray p50 ÷ Yun p50 at 1 connection (phase 2)",
                        med(ray_lat["ray"], "p50") / med(ray_lat["yun"], "p50"), "", ""])
    else:
        rows.append([f"ray: not available ({why_not})", "", *["–"] * 8])
    out = h.table(
        f"Warm path ({rounds} interleaved rounds; 1 connection: wrk -t1 -c1 -d{lat_s}s; "
        f"64 connections: wrk -t2 -c64 -d{tput_s}s; medians of the rounds; "
        f"Yun had {instances} hello-c8 instances at the end)",
        ["system", "phase", "p50 ms @1", "p99 ms @1", "p50 per round @1", "req/s @64",
         "p50 ms @64", "req/s per round @64", "server CPU µs/req @64", "errors"], rows)
    out += "\n" + h.table("Warm path against the targets", ["figure", "value", "target", ""],
                          targets)
    return out


if __name__ == "__main__":
    h.main(run)
