"""Value types the store returns besides the ones in `yun.core`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Tenant:
    """An owner of functions, keys and records. `quotas` holds only the admin's overrides."""

    name: str
    uid: int  # the uid its instances run as; unique, never reused
    created_at: float
    disabled: bool = False
    quotas: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TenantUsage:
    """What a tenant has stored: counted against its `functions` and `code_bytes` quotas."""

    functions: int
    code_bytes: int  # unpacked code of every stored version


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A known API key. The plaintext is never stored, only its sha256."""

    id: str  # public, random
    tenant: str
    name: str
    admin: bool
    created_at: float
    prefix: str | None = None  # the plaintext's first characters, to recognise it by
    expires_at: float | None = None  # revoked (or rotated) keys stop working at this time

    def active(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just made: its record and the plaintext, which is never available again."""

    key: ApiKey
    plaintext: str


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
