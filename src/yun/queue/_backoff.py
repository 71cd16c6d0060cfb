"""When a failed async attempt runs again: exponential backoff with full jitter (a random
delay between 0 and the exponential bound), so retries of a burst do not arrive together."""

from __future__ import annotations

from collections.abc import Callable


def backoff(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds before the attempt after `attempt` (1 = the first failed)."""
    return rand() * min(cap, base * 2.0 ** (attempt - 1))
