"""What every event source shares: the wall clock it reads, and naming its events."""

from __future__ import annotations

import time


class WallClock:
    """Epoch seconds. Schedules and event times are wall-clock; tests pass a `FakeClock`."""

    def now(self) -> float:
        return time.time()


def source_uri(tenant: str, kind: str, function: str) -> str:
    """The CloudEvents `source` of a trigger's events."""
    return f"/yun/{tenant}/{kind}/{function}"
