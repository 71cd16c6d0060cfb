"""How close can any handler-in-another-process design get to the bare app at 64 connections?

Three servers, interleaved in one run (A B C A B C …), all on core 0, wrk on core 1:
- the bare uvicorn app (`floor_asgi.py`, the floor of `warm_path.py`);
- the relay (`relay/relay_asgi.py`): the same uvicorn app, but the handler runs in a second
  process behind one Unix socket (framed, batched, nothing else: no auth, no routing, no
  records, no sandbox) — the thinnest Python design that keeps functions out of the server;
- Yun (`/fn/hello-c8`, as in `warm_path.py`).

Each run is `wrk -t2 -c64` after a discarded warm-up run; CPU per request is the server's
whole process tree (user + system, from /proc). The relay ÷ floor ratio is the ceiling for
the issue's "≥ 60 % of the bare app" with process isolation on one shared core.

    sudo .venv/bin/python bench/relay_floor.py [--quick]
"""

from __future__ import annotations

import _harness as h
from warm_path import measure, target

RELAY = h.BENCH / "relay"


def relay_server(port: int) -> h.Proc:
    cmd = h.pinned([h.VENV / "uvicorn", "relay_asgi:app", "--host", h.HOST, "--port", str(port),
                    "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                    "--log-level", "warning"], h.SERVER_CPU)
    proc = h.Proc("relay", cmd, cwd=RELAY)
    try:
        h.wait_http(port, 30)
    except BaseException:
        proc.stop()
        raise
    return proc


def run(quick: bool) -> None:
    rounds, seconds, warm = (2, 4, 1) if quick else (5, 8, 2)
    print(f"# relay floor · {h.machine()}", flush=True)
    with h.Yun() as yun:
        yun.deploy(h.FUNCTIONS / "hello_c8")
        yun.unthrottle()
        floor_port, relay_port = h.free_port(), h.free_port()
        with h.running(h.floor_server(floor_port)) as floor, \
                h.running(relay_server(relay_port)) as relay:
            targets = {"floor": target(floor_port, "/", floor.pid),
                       "relay": target(relay_port, "/", relay.pid),
                       "yun": target(yun.port, "/fn/hello-c8", yun.proc.pid, yun.headers())}
            runs = measure(targets, rounds, 2, 64, seconds, warm)
    floor_rps = [r["rps"] for r in runs["floor"]]
    rows = []
    for name, label in (("floor", "bare uvicorn app (floor)"),
                        ("relay", "relay: handler in a 2nd process"), ("yun", "Yun")):
        ratios = [r["rps"] / f for r, f in zip(runs[name], floor_rps, strict=True)]
        rows.append([label, h.median([r["rps"] for r in runs[name]]),
                     " / ".join(f"{r['rps']:,.0f}" for r in runs[name]),
                     h.median([r["cpu_us"] for r in runs[name]]), h.median(ratios),
                     sum(r["errors"] for r in runs[name])])
    title = (f"64 connections, {rounds} interleaved rounds × {seconds} s (medians); servers on "
             "core 0, wrk on core 1")
    print(h.table(title, ["server", "req/s", "per round", "CPU µs per request",
                          "÷ floor (per-round median)", "errors"], rows))
    print(f"(load average at the end: {h.load()})")


if __name__ == "__main__":
    h.main(run)
