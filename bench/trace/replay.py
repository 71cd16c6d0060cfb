"""Replay an Azure-Functions-2019-schema trace through Yun's autoscaler and keep-alive policies.

Drives the real `yun.autoscaler.Scaler` (KPA + keep-alive) with a fake clock, one function at
a time, and prints fixed-keep-alive and hybrid-histogram figures side by side: cold-start %
(all invocations, and the 75th-percentile function), wasted memory-time, instances over time.

    .venv/bin/python bench/trace/replay.py --days 14 --functions 1000 --policy both
    .venv/bin/python bench/trace/replay.py --trace DIR   # generate.py's output or the real one

Without --trace the synthetic trace (generate.py, same seed) is made in the workers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

import _schema
import _simulate
import _synth
from _report import frontier, report
from _schema import FunctionTrace
from _simulate import Totals

from yun.autoscaler import HistogramSettings, KeepAliveKind, Policy

POLICY_NAMES: tuple[KeepAliveKind, ...] = ("fixed", "hybrid")
CHUNKS = 16  # functions are dealt round-robin into this many jobs, whatever the workers


Variant = tuple[Policy, HistogramSettings | None]
Job = TypeVar("Job")
Totalled = TypeVar("Totalled")


def policies(keep_alive: float) -> dict[str, Variant]:
    """The replayed policies: the KPA defaults with room for every function (max 1000)."""
    return {name: (Policy(max=1000, keep_alive=keep_alive, keep_alive_policy=name), None)
            for name in POLICY_NAMES}


def sweep(keep_alive: float) -> dict[str, Variant]:
    """Fixed keep-alives from 5 to 120 min and the hybrid over histogram ranges of 10 min to
    4 h (the paper's knob), for the memory / cold-start frontier."""
    variants: dict[str, Variant] = {
        f"fixed {m} min": (Policy(max=1000, keep_alive=m * 60.0), None)
        for m in (5, 10, 20, 30, 60, 120)}
    for minutes in (10, 15, 20, 30, 60, 120, 240):
        label = f"{minutes} min" if minutes < 60 else f"{minutes / 60:g} h"
        variants[f"hybrid {label}"] = (
            Policy(max=1000, keep_alive=keep_alive, keep_alive_policy="hybrid"),
            HistogramSettings(range=minutes * 60.0))
    return variants


def replay_all(fns: list[FunctionTrace], days: int, chosen: dict[str, Variant]
               ) -> dict[str, Totals]:
    totals = {name: Totals() for name in chosen}
    for fn in fns:
        for name, (policy, histogram) in chosen.items():
            _simulate.replay(fn, policy, days, totals[name], histogram)
    return totals


def _generated(job: tuple[list[int], list[int], int, int, dict[str, Variant]]
               ) -> dict[str, Totals]:
    indices, apps, days, seed, chosen = job
    return replay_all([_synth.function(i, days, seed, apps[i]) for i in indices], days, chosen)


def _given(job: tuple[list[FunctionTrace], int, dict[str, Variant]]) -> dict[str, Totals]:
    fns, days, chosen = job
    return replay_all(fns, days, chosen)


def run(functions: int, days: int, seed: int, chosen: dict[str, Variant], workers: int,
        trace: Path | None = None) -> dict[str, Totals]:
    """Replay and merge in a fixed order, so the figures do not depend on the workers."""
    chunks = CHUNKS
    if trace is None:
        apps = _synth.apps(functions, seed)
        generated = [(list(range(k, functions, chunks)), apps, days, seed, chosen)
                     for k in range(chunks)]
        parts = _map(_generated, generated, workers)
    else:
        fns = _schema.read(trace, days, functions)
        given = [(fns[k::chunks], days, chosen) for k in range(chunks)]
        parts = _map(_given, given, workers)
    merged = {name: Totals() for name in chosen}
    for part in parts:
        for name in chosen:
            merged[name].add(part[name])
    return merged


def _map(fn: Callable[[Job], Totalled], jobs: list[Job], workers: int) -> list[Totalled]:
    if workers <= 1:
        return [fn(job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(fn, jobs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--policy", choices=(*POLICY_NAMES, "both"), default="both")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--keep-alive", type=float, default=600.0,
                        help="fixed keep-alive, and the hybrid's fallback (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trace", type=Path, help="read this directory instead of generating")
    parser.add_argument("--sweep", action="store_true",
                        help="fixed 5..120 min against hybrid ranges of 10 min..4 h (~2.5 min)")
    args = parser.parse_args(argv)
    every = policies(args.keep_alive)
    chosen = every if args.policy == "both" else {args.policy: every[args.policy]}
    if args.sweep:
        chosen = sweep(args.keep_alive)
    started = time.perf_counter()
    totals = run(args.functions, args.days, args.seed, chosen, args.workers, args.trace)
    elapsed = time.perf_counter() - started
    source = f"{args.trace}" if args.trace else f"synthetic, seed {args.seed}"
    print(f"trace: {source}; {args.days} days x {args.functions} functions; "
          f"keep_alive {args.keep_alive:g} s; {args.workers} workers")
    print("\n".join(frontier(totals) if args.sweep else report(totals, args.days)))
    print(f"replayed in {elapsed:.1f} s (generation included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
