"""The replay's figures as text: policies side by side, or a sweep's frontier."""

from __future__ import annotations

import math
from collections.abc import Callable

import _simulate
from _simulate import Totals


def report(totals: dict[str, Totals], days: int) -> list[str]:
    """The figures, one column per policy, and hybrid against fixed when both ran."""
    names, runs = list(totals), list(totals.values())
    pair = len(runs) == 2
    rows: list[tuple[str, list[str], str]] = []

    def add(label: str, figure: Callable[[Totals], float], shown: str,
            change: str | None = "%") -> None:
        values = [figure(t) for t in runs]
        delta = ""
        if pair and change == "%":
            delta = _change(values[0], values[1])
        elif pair and change == "pts":
            delta = f"{values[1] - values[0]:+.2f} pts"
        rows.append((label, [shown.format(v) for v in values], delta))

    add("invocations", lambda t: t.invocations, "{:,.0f}", None)
    add("cold starts", lambda t: t.cold, "{:,.0f}")
    add("  after idle (the keep-alive policy's)", lambda t: t.cold_after_idle, "{:,.0f}")
    add("  scaling up while busy (the KPA's)", lambda t: t.cold - t.cold_after_idle, "{:,.0f}")
    add("cold-start %, all invocations", lambda t: _pct(t.cold, t.invocations), "{:.4f} %")
    add("cold-start %, 75th-percentile function", lambda t: _rank(t.cold_percent, 0.75),
        "{:.2f} %", "pts")
    add("wasted memory, GB·h", lambda t: _gbh(t.wasted_idle + t.wasted_serving), "{:,.0f}")
    add("  while idle (keep-alive, KPA hold)", lambda t: _gbh(t.wasted_idle), "{:,.0f}")
    add("  while serving (KPA headroom)", lambda t: _gbh(t.wasted_serving), "{:,.0f}")
    add("by kind of function:", lambda t: 0, "", None)
    for name in _simulate.KINDS:
        add(f"  {name}: after-idle cold starts", _kind(name, 0), "{:,.0f}")
        add(f"  {name}: idle GB·h", _kind(name, 1), "{:,.0f}")
    add("instances (hourly means): average", lambda t: _mean(_instances(t)), "{:,.0f}")
    add("instances (hourly means): p95", lambda t: _rank(_instances(t), 0.95), "{:,.0f}")
    add("instances (hourly means): peak", lambda t: max(_instances(t)), "{:,.0f}")
    for day in range(days):
        add(f"  day {day + 1:2d}", _day(day), "{:,.0f}")
    heads = [{"fixed": "fixed keep-alive", "hybrid": "hybrid histogram"}.get(n, n)
             for n in names]
    width = max(len(label) for label, _, _ in rows)
    header = f"{'':{width}}" + "".join(f"  {h:>17}" for h in heads)
    lines = [header + ("  hybrid vs fixed" if pair else "")]
    for label, values, delta in rows:
        lines.append(f"{label:{width}}" + "".join(f"  {v:>17}" for v in values)
                     + (f"  {delta:>15}" if delta else ""))
    return lines


def _instances(t: Totals, lo: int = 0, hi: int | None = None) -> list[float]:
    """Mean instances in each hour from `lo` to `hi`."""
    return [s / 3600 for s in t.instance_seconds[lo:hi]]


def _day(day: int) -> Callable[[Totals], float]:
    return lambda t: _mean(_instances(t, day * 24, day * 24 + 24))


def _kind(kind: str, column: int) -> Callable[[Totals], float]:
    """After-idle cold starts (column 0) or idle GB·h (column 1) of one kind of function."""
    if column == 0:
        return lambda t: t.by_kind.get(kind, [0.0, 0.0])[0]
    return lambda t: _gbh(t.by_kind.get(kind, [0.0, 0.0])[1])


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _change(before: float, after: float) -> str:
    return f"{100.0 * (after - before) / before:+.1f} %" if before else "n/a"


def _rank(values: list[float], q: float) -> float:
    """Nearest-rank percentile: sort, take the value q of the way up."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _gbh(mb_seconds: float) -> float:
    return mb_seconds / 1024 / 3600


def frontier(totals: dict[str, Totals]) -> list[str]:
    """One line per variant: cold starts against wasted memory."""
    lines = [f"{'':14}  {'cold %':>8}  {'after idle':>10}  {'p75 function':>12}  "
             f"{'idle GB·h':>9}  {'total GB·h':>10}"]
    for name, t in totals.items():
        lines.append(f"{name:14}  {_pct(t.cold, t.invocations):8.4f}  {t.cold_after_idle:10,}  "
                     f"{_rank(t.cold_percent, 0.75):10.2f} %  {_gbh(t.wasted_idle):9,.0f}  "
                     f"{_gbh(t.wasted_idle + t.wasted_serving):10,.0f}")
    return lines
