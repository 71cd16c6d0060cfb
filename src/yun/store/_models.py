"""Value types the store returns besides the ones in `yun.core`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A known API key. The plaintext is never stored, only its sha256."""

    id: int
    tenant: str
    name: str
    admin: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class FunctionSummary:
    name: str
    latest_version: int
    memory: int  # MiB, from the latest version's manifest
    created_at: float  # when version 1 was deployed
    updated_at: float  # when the latest version was deployed


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a handler wrote. `seq` is 0 until stored, then the table's increasing id."""

    seq: int
    activation_id: str
    tenant: str
    function: str
    stream: str  # "stdout" or "stderr"
    time: float  # seconds since the epoch
    line: str
