"""Warm path, before vs after: two `yun up` from two source trees, interleaved in one run.

For changes to the data path, absolute req/s on the shared machine moves more than the change
does; two servers measured A B A B … in the same run do not. `--before DIR` is a `src/`
folder of the older tree (for example `git archive BASE src | tar -x -C /tmp/base`); it is put
first on `PYTHONPATH` of the "before" server (its zygote and instances inherit it), the
"after" server runs this checkout. Each run is `wrk -t2 -c64` against `/fn/hello-c8` (and
`-c1` against `/fn/hello`), with the CPU per request split into the gateway (`yun up` itself,
all its threads) and everything below it (zygote, templates, instances).

    sudo .venv/bin/python bench/warm_ab.py --before /tmp/base/src [--rounds 5] [--seconds 4]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import _harness as h


def own_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, all its threads."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(yun: h.Yun, path: str, connections: int, seconds: float) -> dict[str, float]:
    pid = yun.proc.pid
    tree, own = h.tree_cpu(pid), own_cpu(pid)
    result = h.wrk(yun.port, path, threads=min(2, connections), connections=connections,
                   seconds=seconds, headers=yun.headers())
    n = max(1.0, result["requests"])
    total = (h.tree_cpu(pid) - tree) * 1e6 / n
    gateway = (own_cpu(pid) - own) * 1e6 / n
    return {**result, "cpu_us": total, "gateway_us": gateway, "below_us": total - gateway}


def run(before: Path, rounds: int, seconds: float) -> None:
    print(f"# warm path before/after · {h.machine()}", flush=True)
    env_before = {"PYTHONPATH": str(before)}
    with h.Yun(env=env_before) as old, h.Yun() as new:
        servers = {"before": old, "after": new}
        for yun in servers.values():
            yun.deploy(h.FUNCTIONS / "hello", scale={"keep_alive": "10m"})
            yun.deploy(h.FUNCTIONS / "hello_c8")
            yun.unthrottle()
        runs: dict[tuple[str, int], list[dict[str, float]]] = {}
        for r in range(rounds):
            for connections, path in ((64, "/fn/hello-c8"), (1, "/fn/hello")):
                for name, yun in servers.items():
                    h.wrk(yun.port, path, threads=min(2, connections), connections=connections,
                          seconds=1, headers=yun.headers())  # warm-up, discarded
                    result = measured(yun, path, connections, seconds)
                    runs.setdefault((name, connections), []).append(result)
                    print(f"  round {r + 1}/{rounds} -c{connections} {name}: "
                          f"{result['rps']:,.0f} req/s, p50 {result['p50']:.3f} ms, CPU/req "
                          f"{result['cpu_us']:.0f} µs (gateway {result['gateway_us']:.0f}, "
                          f"below {result['below_us']:.0f}), errors {result['errors']:.0f}, "
                          f"load {h.load()}", flush=True)
    rows = []
    for (name, connections), results in runs.items():
        rows.append([name, connections, *(h.median([r[k] for r in results]) for k in
                                          ("rps", "p50", "p99", "cpu_us", "gateway_us",
                                           "below_us")),
                     " / ".join(f"{r['rps']:,.0f}" for r in results),
                     f"{sum(r['errors'] for r in results):.0f}"])
    print(h.table(f"Before vs after ({rounds} interleaved rounds of wrk -d{seconds:g}s; medians)",
                  ["tree", "connections", "req/s", "p50 ms", "p99 ms", "CPU µs/req",
                   "gateway µs/req", "below µs/req", "req/s per round", "errors"], rows))
    ratios = []
    for connections in (64, 1):
        pairs = list(zip(runs[("before", connections)], runs[("after", connections)],
                         strict=True))
        for key in ("rps", "cpu_us", "gateway_us", "below_us"):
            per_round = [a[key] / b[key] for b, a in pairs if b[key] > 0]
            ratios.append([connections, key, h.median(per_round),
                           " / ".join(f"{r:.2f}" for r in per_round)])
    print(h.table("After ÷ before, per round (same round, so the machine's load is shared)",
                  ["connections", "figure", "median ratio", "per round"], ratios))
    print(f"(load average at the end: {h.load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="src/ of the older tree")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    h.main(lambda _quick: run(args.before.resolve(), args.rounds, args.seconds))


if __name__ == "__main__":
    main()
