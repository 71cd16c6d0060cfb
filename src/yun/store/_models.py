"""Value types the store returns besides the ones in `yun.core`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


# --- flows ---------------------------------------------------------------------------------
# JSON values (definitions, inputs, outputs, execution state) are plain decoded JSON:
# None, bool, int, float, str, list, dict.


@dataclass(frozen=True, slots=True)
class Flow:
    """A deployed state machine: its latest version's definition (ASL as JSON)."""

    name: str
    version: int
    definition: dict[str, Any]
    created_at: float  # when version 1 was deployed
    updated_at: float  # when this version was deployed


@dataclass(frozen=True, slots=True)
class FlowExecution:
    """One execution of a flow: the row the runner rewrites with every step.

    `id` ("FLOW:NAME") is what users name it by; `uid` is random and unique across tenants,
    the base of its tasks' request ids. `state` (the interpreter's execution value) is only
    loaded when asked for.
    """

    uid: str
    tenant: str
    flow: str
    name: str
    flow_version: int
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    started_at: float
    stopped_at: float | None
    updated_at: float
    history_events: int
    resumes: int
    state: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.flow}:{self.name}"


@dataclass(frozen=True, slots=True)
class ExecutionWrite:
    """What one committed step changes: the new execution value, the history events it
    appended, the timers it started and the timers it no longer needs (cancelled or fired).
    `output` is stored only when `status` is SUCCEEDED."""

    uid: str
    status: str
    state: dict[str, Any]
    output: Any = None
    error: str | None = None
    cause: str | None = None
    stopped_at: float | None = None
    history: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (id, event)
    timers: list[tuple[str, float]] = field(default_factory=list)  # (token, fire_at epoch s)
    timers_done: list[str] = field(default_factory=list)  # tokens whose rows go
    resumed: bool = False  # count one more resume


@dataclass(frozen=True, slots=True)
class FlowTimer:
    execution: str  # uid
    token: str
    fire_at: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class Invocation:
    """An async invocation's state: queued → running → succeeded; or failed (an attempt
    failed, its retry is scheduled) → running again; or dead (the last attempt failed, or
    the event grew too old)."""

    id: str
    tenant: str
    target: str
    source: str
    status: str
    attempts: int  # attempts started (throttled refusals are not counted)
    result: bytes | None  # the handler's response body once succeeded
    errors: list[dict[str, Any]]  # one per failed attempt: attempt, status, type, message, at
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An async invocation that ran out of attempts or age, with what is needed to redrive it."""

    id: str
    tenant: str
    target: str
    source: str
    body: bytes
    errors: list[dict[str, Any]]
    enqueued_at: float
    dead_at: float
