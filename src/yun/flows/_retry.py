"""Retry and Catch: which error a retrier or catcher takes, and how long to back off.

`backoff_seconds` is pure: the attempt number, the retrier and a random source in, seconds
out. `IntervalSeconds * BackoffRate ** retries`, capped by `MaxDelaySeconds`, and with
`JitterStrategy: FULL` a uniform draw in [0, that].
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from yun.flows._errors import ALL, TASK_FAILED, TERMINAL, TIMEOUT
from yun.flows._json import Json
from yun.flows._jsonpath import JsonPath
from yun.flows._templates import Template


@dataclass(frozen=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: str = "NONE"


@dataclass(frozen=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: JsonPath | None  # JSONPath mode; None discards the error output
    assign: Template | None = None
    output: Template | None = None  # JSONata mode


def error_matches(error_equals: tuple[str, ...], error: str | None) -> bool:
    """Whether a retrier's or catcher's ErrorEquals takes `error`.

    States.ALL takes every error but the terminal ones (States.Runtime,
    States.DataLimitExceeded); States.TaskFailed takes every error but those and
    States.Timeout.
    """
    if error in TERMINAL:
        return False
    for name in error_equals:
        if name in (ALL, error):
            return True
        if name == TASK_FAILED and error != TIMEOUT:
            return True
    return False


def find_retrier(retriers: tuple[Retrier, ...], error: str | None) -> int | None:
    """Index of the first retrier whose ErrorEquals takes `error` (later ones never look)."""
    for index, retrier in enumerate(retriers):
        if error_matches(retrier.error_equals, error):
            return index
    return None


def find_catcher(catchers: tuple[Catcher, ...], error: str | None) -> Catcher | None:
    for catcher in catchers:
        if error_matches(catcher.error_equals, error):
            return catcher
    return None


def backoff_seconds(retrier: Retrier, retries_so_far: int, rng: random.Random) -> float:
    """Seconds to wait before retry number `retries_so_far + 1` of this retrier."""
    delay = retrier.interval_seconds * retrier.backoff_rate**retries_so_far
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter == "FULL":
        delay = rng.uniform(0.0, delay)
    return delay


def error_output(error: str | None, cause: str | None) -> dict[str, Json]:
    """The value a Catch passes on: `{"Error": ..., "Cause": ...}` (absent parts left out)."""
    out: dict[str, Json] = {}
    if error is not None:
        out["Error"] = error
    if cause is not None:
        out["Cause"] = cause
    return out
