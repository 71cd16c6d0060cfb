"""Prefect 3's side of the flows benchmark; runs in bench/.venv-prefect, never Yun's venv.

The same two workloads as Yun's, as Prefect expresses them: a chain of 100 pass-through
tasks, and a map of a no-op task over 100 items with 10 worker threads (Yun's Map has
MaxConcurrency 10). Prefect runs with its default local backend: an ephemeral API server
with SQLite under $PREFECT_HOME. Caching is off, so every task really runs.

Protocol: one command per stdin line (`chain` or `map`); one JSON line answers each with the
run's wall seconds. `ready` is printed after one warm-up run of each.
"""

from __future__ import annotations

import json
import sys
import time

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner


@task(cache_policy=NO_CACHE)
def step(value: object) -> object:
    return value


@flow
def chain100(value: object) -> object:
    for _ in range(100):
        value = step(value)
    return value


@flow(task_runner=ThreadPoolTaskRunner(max_workers=10))
def map100(items: list[int]) -> list[object]:
    return [future.result() for future in step.map(items)]


def run(command: str) -> float:
    began = time.perf_counter()
    if command == "chain":
        assert chain100({"value": 1}) == {"value": 1}
    elif command == "map":
        assert map100(list(range(100))) == list(range(100))
    else:
        raise SystemExit(f"unknown command: {command!r}")
    return time.perf_counter() - began


def main() -> None:
    run("chain")
    run("map")
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if not command:
            continue
        print(json.dumps({"command": command, "seconds": run(command)}), flush=True)


if __name__ == "__main__":
    main()
