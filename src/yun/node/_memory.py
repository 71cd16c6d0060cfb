"""Admission control: start an instance only if the machine can hold it at its memory limit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def available_mb(meminfo: Path = Path("/proc/meminfo")) -> int:
    """The kernel's estimate of memory available without swapping (MemAvailable), in MiB."""
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no MemAvailable in {meminfo}")


class Admission:
    """Refuses a start when it could push the machine into swapping or the OOM killer.

    Instances are admitted against what is really free rather than the sum of limits, so idle
    instances (a few MB each) do not block new ones; each start needs room for its whole
    limit plus a reserve kept for the platform itself.
    """

    def __init__(self, reserve_mb: int = 256,
                 available: Callable[[], int] = available_mb) -> None:
        self.reserve_mb = reserve_mb
        self._available = available
        self.pending_mb = 0  # admitted but not yet running: not visible in MemAvailable

    def admit(self, memory_mb: int) -> str | None:
        """None when admitted (and booked), else the reason for refusing."""
        free = self._available() - self.pending_mb
        if free - memory_mb < self.reserve_mb:
            return (f"not enough memory on this node to start an instance with {memory_mb} MiB "
                    f"({free} MiB available, {self.reserve_mb} MiB kept in reserve)")
        self.pending_mb += memory_mb
        return None

    def started(self, memory_mb: int) -> None:
        self.pending_mb = max(0, self.pending_mb - memory_mb)
