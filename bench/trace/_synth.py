"""A synthetic trace in the shape Shahrad et al. publish for Azure Functions (ATC'20, Sec. 3).

Every parameter is a constant below and is described in README.md (the paper's figures are
quoted from memory there: verify before relying on them). Each function draws from
its own `random.Random` seeded with (seed, index), so function i is the same whatever the
number of functions, the days, or the process that makes it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from array import array
from bisect import bisect_right

from _schema import MINUTES_PER_DAY, FunctionTrace

# Share of functions per trigger (paper).
TRIGGERS = (("http", 0.550), ("queue", 0.152), ("event", 0.022), ("orchestration", 0.069),
            ("timer", 0.156), ("storage", 0.028), ("others", 0.023))
# Mean invocations per day, as a piecewise log-uniform quantile function (p, log10 rate):
# 45 % of functions at most once an hour, 80 % at most once a minute (paper), the
# whole spanning 8 orders of magnitude (0.2/day .. 2e7/day). (paper)
RATE_KNOTS = ((0.0, -0.7), (0.45, math.log10(24)), (0.80, math.log10(1440)), (0.95, 5.5),
              (1.0, 7.3))
# Cron-like periods (seconds) a timer snaps to, in log space, from its drawn rate.
TIMER_PERIODS = (10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400,
                 21600, 43200, 86400)
# Diurnal amplitude range per trigger (rate x (1 + a cos(2 pi (hour - peak) / 24))).
DIURNAL = {"http": (0.3, 0.9)}
DIURNAL_OTHER = (0.0, 0.5)
PEAK_HOUR = (14.0, 3.0)  # normal(mean, sd), hours
# Share of each trigger's functions that come in on/off bursts.
BURSTY = {"http": 0.4, "orchestration": 0.5}
BURSTY_OTHER = 0.2
BURST_ON_MINUTES = 20.0  # mean length of an on period (exponential)
BURST_DUTY = (0.05, 0.3)  # uniform: fraction of time on; off periods follow
# Average execution time: the paper's lognormal fit, seconds; median 0.68 s.
DURATION_LOG_MEAN, DURATION_LOG_SD = -0.38, 2.36
DURATION_RANGE = (0.005, 600.0)  # seconds; 600 s is the Consumption plan's limit
PEAK_CONCURRENCY = 200.0  # a function's mean in-flight count at its peak rate stays below this
# Allocated memory per app: the paper's Burr XII fit, MB; median ~140 MB.
MEMORY_BURR = (11.652, 0.221, 107.083)  # c, k, lambda
MEMORY_RANGE = (16.0, 1536.0)
FUNCTIONS_PER_APP = (0.54, 10)  # share of single-function apps; others have 2..10
EVENTS_UP_TO = 2.0  # invocations/minute: below, events are drawn one by one; above, per minute


def generate(functions: int, days: int, seed: int) -> list[FunctionTrace]:
    fleet = apps(functions, seed)
    return [function(i, days, seed, fleet[i]) for i in range(functions)]


def function(index: int, days: int, seed: int, app: int | None = None) -> FunctionTrace:
    """Function `index` of the fleet `seed` (its app from `apps` when given)."""
    rng = random.Random(f"yun-trace:{seed}:{index}")
    trigger = _choice(rng, TRIGGERS)
    rate = 10 ** log_rate(rng.random())  # per day
    app_id = index if app is None else app
    app_rng = random.Random(f"yun-trace:{seed}:app:{app_id}")
    memory = _burr(app_rng)
    minutes_total = days * MINUTES_PER_DAY
    if trigger == "timer":
        period = _timer_period(rate)
        at, counts = _timer(rng, period, minutes_total)
        peak_per_s = 1 / period
    else:
        amplitude = rng.uniform(*DIURNAL.get(trigger, DIURNAL_OTHER))
        peak = rng.gauss(*PEAK_HOUR)
        duty = rng.uniform(*BURST_DUTY) if rng.random() < BURSTY.get(trigger, BURSTY_OTHER) \
            else 1.0
        per_minute = rate / MINUTES_PER_DAY
        on = _on_periods(rng, duty, minutes_total)
        if per_minute <= EVENTS_UP_TO:
            at, counts = _events(rng, per_minute / duty, amplitude, peak, on)
        else:
            at, counts = _per_minute(rng, per_minute / duty, amplitude, peak, on)
        peak_per_s = per_minute / duty * (1 + amplitude) / 60
    duration = math.exp(rng.gauss(DURATION_LOG_MEAN, DURATION_LOG_SD))
    duration = min(max(duration, DURATION_RANGE[0]), DURATION_RANGE[1],
                   max(DURATION_RANGE[0], PEAK_CONCURRENCY / peak_per_s))
    return FunctionTrace(owner=_hash(seed, "owner", app_id), app=_hash(seed, "app", app_id),
                         function=_hash(seed, "function", index), trigger=trigger,
                         duration_ms=duration * 1000, memory_mb=memory, minutes=at,
                         counts=counts)


def apps(functions: int, seed: int) -> list[int]:
    """The app of each function: runs of 1 (54 %) or 2..10 functions."""
    rng = random.Random(f"yun-trace:{seed}:apps")
    single, most = FUNCTIONS_PER_APP
    app_of: list[int] = []
    while len(app_of) < functions:
        size = 1 if rng.random() < single else rng.randint(2, most)
        app_of.extend([len(app_of)] * size)
    return app_of[:functions]


def _choice(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    u, total = rng.random(), 0.0
    for name, weight in weighted:
        total += weight
        if u < total:
            return name
    return weighted[-1][0]


def log_rate(p: float) -> float:
    for (p0, x0), (p1, x1) in itertools.pairwise(RATE_KNOTS):
        if p <= p1:
            return x0 + (x1 - x0) * (p - p0) / (p1 - p0)
    return RATE_KNOTS[-1][1]


def _timer_period(rate_per_day: float) -> int:
    wanted = math.log(86400 / rate_per_day)
    return min(TIMER_PERIODS, key=lambda p: abs(math.log(p) - wanted))


def _timer(rng: random.Random, period: int, minutes: int) -> tuple[array[int], array[int]]:
    """Exact periods from a random phase, like a cron schedule."""
    if period < 60:
        return array("l", range(minutes)), array("l", [60 // period]) * minutes
    step = period // 60
    at = array("l", range(rng.randrange(step), minutes, step))
    return at, array("l", [1]) * len(at)


def _on_periods(rng: random.Random, duty: float, minutes: int) -> list[tuple[float, float]]:
    """On intervals (minutes) of an on/off process with the given duty cycle."""
    if duty >= 1.0:
        return [(0.0, float(minutes))]
    off_mean = BURST_ON_MINUTES * (1 - duty) / duty
    periods, t, on = [], 0.0, rng.random() < duty
    while t < minutes:
        length = rng.expovariate(1 / (BURST_ON_MINUTES if on else off_mean))
        if on:
            periods.append((t, min(t + length, float(minutes))))
        t, on = t + length, not on
    return periods


def _diurnal(minute: float, amplitude: float, peak: float) -> float:
    return 1 + amplitude * math.cos(2 * math.pi * ((minute / 60 - peak) / 24))


def _events(rng: random.Random, per_minute: float, amplitude: float, peak: float,
            on: list[tuple[float, float]]) -> tuple[array[int], array[int]]:
    """A Poisson process thinned by the diurnal curve, one event at a time, per minute."""
    at, counts = array("l"), array("l")
    top = per_minute * (1 + amplitude)
    if top <= 0:
        return at, counts
    for start, end in on:
        t = start + rng.expovariate(top)
        while t < end:
            if rng.random() * (1 + amplitude) < _diurnal(t, amplitude, peak):
                minute = int(t)
                if at and at[-1] == minute:
                    counts[-1] += 1
                else:
                    at.append(minute)
                    counts.append(1)
            t += rng.expovariate(top)
    return at, counts


def _per_minute(rng: random.Random, per_minute: float, amplitude: float, peak: float,
                on: list[tuple[float, float]]) -> tuple[array[int], array[int]]:
    """Poisson counts minute by minute, the rate scaled by the diurnal curve and the on share."""
    at, counts = array("l"), array("l")
    starts = [s for s, _ in on]
    done = -1
    for start, end in on:
        for minute in range(max(int(start), done + 1), math.ceil(end)):
            done = minute  # a minute two on periods share is drawn once, for both
            share = 0.0
            i = bisect_right(starts, minute + 1) - 1
            while i >= 0 and on[i][1] > minute:
                share += min(on[i][1], minute + 1) - max(on[i][0], minute)
                i -= 1
            n = _poisson(rng, per_minute * share * _diurnal(minute + 0.5, amplitude, peak))
            if n:
                at.append(minute)
                counts.append(n)
    return at, counts


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean >= 30:  # normal approximation: within a few % here, and one draw
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    u, k, p = rng.random(), 0, math.exp(-mean)  # inversion: one draw, O(mean) steps
    cumulative = p
    while u > cumulative and p > 0:
        k += 1
        p *= mean / k
        cumulative += p
    return k


def _burr(rng: random.Random) -> float:
    c, k, scale = MEMORY_BURR
    u = rng.random()
    mb = scale * float(((1 - u) ** (-1 / k) - 1) ** (1 / c))
    return min(max(mb, MEMORY_RANGE[0]), MEMORY_RANGE[1])


def _hash(seed: int, kind: str, n: int) -> str:
    return hashlib.sha256(f"{seed}:{kind}:{n}".encode()).hexdigest()
