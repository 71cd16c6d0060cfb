"""The Azure Functions 2019 trace schema: per-function invocations per minute, durations, memory.

One day per file set, as in the public dataset (AzurePublicDatasetV2):
`invocations_per_function_md.anon.dNN.csv` (HashOwner, HashApp, HashFunction, Trigger, 1..1440),
`function_durations_percentiles.anon.dNN.csv` (milliseconds) and
`app_memory_percentiles.anon.dNN.csv` (allocated MB per app). In memory a function keeps only
its minutes with invocations, so a replay walks what happened, not 20,160 mostly-empty minutes.
"""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MINUTES_PER_DAY = 1440
INVOCATIONS = "invocations_per_function_md.anon.d{:02d}.csv"
DURATIONS = "function_durations_percentiles.anon.d{:02d}.csv"
MEMORY = "app_memory_percentiles.anon.d{:02d}.csv"
DURATION_COLUMNS = ("HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum",
                    "Maximum", "percentile_Average_0", "percentile_Average_1",
                    "percentile_Average_25", "percentile_Average_50", "percentile_Average_75",
                    "percentile_Average_99", "percentile_Average_100")
MEMORY_COLUMNS = ("HashOwner", "HashApp", "SampleCount", "AverageAllocatedMb",
                  "AverageAllocatedMb_pct1", "AverageAllocatedMb_pct5",
                  "AverageAllocatedMb_pct25", "AverageAllocatedMb_pct50",
                  "AverageAllocatedMb_pct75", "AverageAllocatedMb_pct95",
                  "AverageAllocatedMb_pct99", "AverageAllocatedMb_pct100")
# Standard-normal quantiles of the duration file's percentiles (0 and 100 taken as -/+3 sigma).
_Z = {"0": -3.0, "1": -2.326, "25": -0.674, "50": 0.0, "75": 0.674, "99": 2.326, "100": 3.0}
DURATION_SPREAD = 0.5  # sigma of ln(duration) within one function, for the percentile columns
DEFAULT_DURATION_MS = 1000.0  # a function missing from the durations files
DEFAULT_MEMORY_MB = 150.0  # an app missing from the memory files


@dataclass(frozen=True, slots=True)
class FunctionTrace:
    owner: str
    app: str
    function: str
    trigger: str
    duration_ms: float  # average execution time
    memory_mb: float  # the app's average allocated memory
    minutes: array[int]  # minutes since the trace's start with >= 1 invocation, ascending
    counts: array[int]  # invocations in each of those minutes

    @property
    def invocations(self) -> int:
        return sum(self.counts)


def write(functions: Iterable[FunctionTrace], days: int, directory: Path) -> None:
    """Write the three files of each day, in the public dataset's columns."""
    directory.mkdir(parents=True, exist_ok=True)
    fns = list(functions)
    for day in range(days):
        lo, hi = day * MINUTES_PER_DAY, (day + 1) * MINUTES_PER_DAY
        app_calls: dict[tuple[str, str], tuple[float, int]] = {}
        with (open(directory / INVOCATIONS.format(day + 1), "w", newline="") as inv,
              open(directory / DURATIONS.format(day + 1), "w", newline="") as dur):
            inv_rows, dur_rows = csv.writer(inv), csv.writer(dur)
            inv_rows.writerow(["HashOwner", "HashApp", "HashFunction", "Trigger",
                               *range(1, MINUTES_PER_DAY + 1)])
            dur_rows.writerow(DURATION_COLUMNS)
            for fn in fns:
                per_minute = [0] * MINUTES_PER_DAY
                for minute, count in zip(fn.minutes, fn.counts, strict=True):
                    if lo <= minute < hi:
                        per_minute[minute - lo] = count
                total = sum(per_minute)
                if not total:
                    continue
                inv_rows.writerow([fn.owner, fn.app, fn.function, fn.trigger, *per_minute])
                dur_rows.writerow([fn.owner, fn.app, fn.function, *_durations(fn, total)])
                mem, calls = app_calls.get((fn.owner, fn.app), (fn.memory_mb, 0))
                app_calls[(fn.owner, fn.app)] = (mem, calls + total)
        with open(directory / MEMORY.format(day + 1), "w", newline="") as out:
            rows = csv.writer(out)
            rows.writerow(MEMORY_COLUMNS)
            for (owner, app), (mem, calls) in app_calls.items():
                rows.writerow([owner, app, calls, round(mem)] + [round(mem)] * 8)


def _durations(fn: FunctionTrace, count: int) -> list[object]:
    median = fn.duration_ms * math.exp(-DURATION_SPREAD ** 2 / 2)
    pct = [round(median * math.exp(DURATION_SPREAD * _Z[p])) for p in _Z]
    return [round(fn.duration_ms), count, pct[0], pct[-1], *pct]


def read(directory: Path, days: int, limit: int | None = None) -> list[FunctionTrace]:
    """Read `days` days (the public dataset or `write`'s output): the functions of day 1 in file
    order, at most `limit` of them, with their invocations on every day read."""
    minutes: dict[tuple[str, str, str], tuple[array[int], array[int]]] = {}
    triggers: dict[tuple[str, str, str], str] = {}
    for day in range(days):
        with open(directory / INVOCATIONS.format(day + 1), newline="") as inv:
            rows = csv.reader(inv)
            next(rows)
            for row in rows:
                key = (row[0], row[1], row[2])
                if key not in minutes:
                    if day or (limit is not None and len(minutes) >= limit):
                        continue
                    minutes[key] = (array("l"), array("l"))
                    triggers[key] = row[3]
                at, counts = minutes[key]
                base = day * MINUTES_PER_DAY
                for i, cell in enumerate(row[4:4 + MINUTES_PER_DAY]):
                    if cell != "0" and cell:
                        at.append(base + i)
                        counts.append(int(float(cell)))
    durations = _averages(directory, days, DURATIONS, (0, 1, 2), 3)
    memory = _averages(directory, days, MEMORY, (0, 1), 3)
    return [FunctionTrace(owner=k[0], app=k[1], function=k[2], trigger=triggers[k],
                          duration_ms=durations.get(k, DEFAULT_DURATION_MS),
                          memory_mb=memory.get(k[:2], DEFAULT_MEMORY_MB),
                          minutes=at, counts=counts)
            for k, (at, counts) in minutes.items()]


def _averages(directory: Path, days: int, pattern: str, key_columns: tuple[int, ...],
              value_column: int) -> dict[tuple[str, ...], float]:
    """The mean over the days of one numeric column, per key; absent files are skipped."""
    sums: dict[tuple[str, ...], tuple[float, int]] = {}
    for day in range(days):
        path = directory / pattern.format(day + 1)
        if not path.exists():
            continue
        with open(path, newline="") as f:
            rows = csv.reader(f)
            next(rows)
            for row in rows:
                key = tuple(row[i] for i in key_columns)
                total, n = sums.get(key, (0.0, 0))
                sums[key] = (total + float(row[value_column]), n + 1)
    return {key: total / n for key, (total, n) in sums.items()}
