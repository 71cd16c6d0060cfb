"""Replay one function's trace through the real `yun.autoscaler.Scaler` on a fake clock.

The trace counts invocations per minute, so the replay steps in minutes (as the paper's
simulator does). A minute's invocations start at its beginning and run the function's average
duration; a minute's load is the instance-seconds of work in it / 60 (fluid, Little's law),
including invocations still running from earlier minutes. Instances run one invocation at a
time. At a minute's start the instances decided at the previous one are warm; each extra
instance the minute needs (ceil of its load, at least one) starts cold, and each cold start
makes one of the minute's invocations cold. The Scaler hears the load at the minute's start
and decides at its end. Between busy minutes the replay asks the Scaler every 30 s while the
KPA still holds instances (stable window + scale-to-zero grace), then follows the keep-alive
plan in closed form until the next invocation, so an idle week costs what an idle minute does.

Wasted memory is instance-time not serving, x the function's memory: "while serving" is the
KPA's headroom in busy minutes (target utilisation 0.7 leaves ~30 % idle), "while idle" is
what the keep-alive policy and the KPA's hold keep loaded between invocations.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from _schema import FunctionTrace

from yun.autoscaler import HistogramSettings, IdlePlan, Policy, Scaler

MINUTE = 60.0
HOUR = 3600.0
# The KPA's hold after the last invocation is walked in half-minutes, so that its default
# 60 s window + 30 s grace ends on a step (whole minutes would make it 120 s).
HOLD_STEP = 30.0


@dataclass
class Totals:
    """One policy's figures over a set of functions."""

    invocations: int = 0
    cold: int = 0
    cold_after_idle: int = 0  # at a function's first busy minute after idleness
    wasted_serving: float = 0.0  # MB x s
    wasted_idle: float = 0.0  # MB x s
    cold_percent: list[float] = field(default_factory=list)  # per invoked function
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # kind: [after idle, MB s]
    instance_seconds: list[float] = field(default_factory=list)  # per hour of the trace

    def add(self, other: Totals) -> None:
        self.invocations += other.invocations
        self.cold += other.cold
        self.cold_after_idle += other.cold_after_idle
        self.wasted_serving += other.wasted_serving
        self.wasted_idle += other.wasted_idle
        self.cold_percent.extend(other.cold_percent)
        for kind, (cold, wasted) in other.by_kind.items():
            mine = self.by_kind.setdefault(kind, [0.0, 0.0])
            mine[0] += cold
            mine[1] += wasted
        if not self.instance_seconds:
            self.instance_seconds = [0.0] * len(other.instance_seconds)
        for i, v in enumerate(other.instance_seconds):
            self.instance_seconds[i] += v


def replay(fn: FunctionTrace, policy: Policy, days: int, totals: Totals,
           histogram: HistogramSettings | None = None) -> None:
    """Replay `fn` under `policy` and add its figures to `totals`."""
    if not totals.instance_seconds:
        totals.instance_seconds = [0.0] * (days * 24)
    hours = totals.instance_seconds
    scaler = Scaler(policy, histogram)
    duration, memory = fn.duration_ms / 1000, fn.memory_mb
    last_minute = days * 1440
    minutes, counts = fn.minutes, fn.counts
    running: deque[list[float]] = deque()  # [invocations, seconds left], oldest first
    long_running = duration > MINUTE
    ready = by_load = 0  # warm instances at `free_from`, and what the KPA wanted then
    free_from = -1.0  # end of the last minute with work; -1: none yet
    cold = after_idle = invocations = 0
    serving = idle = 0.0
    i, n, minute = 0, len(minutes), -1
    while i < n or running:
        if i < n and (not running or minutes[i] == minute + 1):
            minute, count = minutes[i], counts[i]
            i += 1
        else:  # invocations from earlier minutes still run: a minute with no arrivals
            minute, count = minute + 1, 0
        if minute >= last_minute:
            break
        t = minute * MINUTE
        woke = t != free_from
        if free_from >= 0 and woke:
            ready, wasted = _idle(scaler, free_from, t, ready, by_load, hours)
            idle += wasted * memory
        if long_running:
            if count:
                running.append([count, duration])
            busy = 0.0  # instance-seconds of work in this minute
            for batch in running:
                busy += batch[0] * min(MINUTE, batch[1])
                batch[1] -= MINUTE
            while running and running[0][1] <= 0:
                running.popleft()
            load = busy / MINUTE
        else:  # all done within the minute
            load = count * duration / MINUTE
        need = max(1, math.ceil(load - 1e-9))
        if need > ready:
            started = min(count, need - ready)  # instances already running are not cold
            cold += started
            if woke:
                after_idle += started
            ready = need
        invocations += count
        scaler.record(t, load)
        serving += (ready - load) * (MINUTE * memory)
        hours[int(t // HOUR)] += ready * MINUTE
        decision = scaler.desired(t + MINUTE, ready)
        ready, by_load = decision.desired, decision.by_load
        if running:  # the agent never reaps an instance that is still busy
            ready = max(ready, sum(int(batch[0]) for batch in running))
        free_from = t + MINUTE
    if 0 <= free_from < last_minute * MINUTE:
        _, wasted = _idle(scaler, free_from, last_minute * MINUTE, ready, by_load, hours)
        idle += wasted * memory
    totals.invocations += invocations
    totals.cold += cold
    totals.cold_after_idle += after_idle
    totals.wasted_serving += serving
    totals.wasted_idle += idle
    if invocations:
        totals.cold_percent.append(100.0 * cold / invocations)
    mine = totals.by_kind.setdefault(kind(fn, days), [0.0, 0.0])
    mine[0] += after_idle
    mine[1] += idle


KINDS = ("timer", "< 1/hour", "< 1/minute", "busier")


def kind(fn: FunctionTrace, days: int) -> str:
    """Timers, then the others by their mean rate over the replayed days."""
    if fn.trigger == "timer":
        return KINDS[0]
    per_day = sum(c for m, c in zip(fn.minutes, fn.counts, strict=True)
                  if m < days * 1440) / days
    return KINDS[1] if per_day < 24 else KINDS[2] if per_day < 1440 else KINDS[3]


def _idle(scaler: Scaler, start: float, end: float, ready: int, by_load: int,
          hours: list[float]) -> tuple[int, float]:
    """Idle time [start, end): (warm instances at `end`, idle instance-seconds)."""
    scaler.record(start, 0.0)
    seconds = 0.0
    t = start
    while t < end and by_load > 0:  # the KPA's hold (stable window + grace), step by step
        seconds += ready * HOLD_STEP
        hours[int(t // HOUR)] += ready * HOLD_STEP
        t += HOLD_STEP
        decision = scaler.desired(t, ready)
        ready, by_load = decision.desired, decision.by_load
    if t >= end:
        return ready, seconds
    plan = scaler.plan  # the KPA let go at t: the keep-alive plan alone from here
    if plan is None:
        return 0, seconds
    for lo, hi in _loaded(plan):
        lo, hi = max(lo, t), min(hi, end)
        if lo < hi:
            seconds += hi - lo
            _spread(hours, lo, hi)
    return (1 if plan.keeps(end) else 0), seconds


def _loaded(plan: IdlePlan) -> list[tuple[float, float]]:
    spans = [(plan.since, plan.unload_at)]
    if plan.prewarm_at is not None and plan.expire_at is not None:
        spans.append((plan.prewarm_at, plan.expire_at))
    return spans


def _spread(hours: list[float], lo: float, hi: float) -> None:
    """Add one instance over [lo, hi) to the hourly instance-seconds."""
    while lo < hi:
        hour = int(lo // HOUR)
        edge = min(hi, (hour + 1) * HOUR)
        hours[hour] += edge - lo
        lo = edge
