"""The interpreter's contract: events in, commands out.

`step(execution, event, now)` consumes one event and answers the new execution value, the
commands for the runner, and the history events to append. Commands carry tokens: a token
names one attempt of one task (or one timer) and is stable across resumes, so the runner
can use it as the idempotency key of the invocation it makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from yun.flows._execution import Execution
from yun.flows._history import HistoryEvent
from yun.flows._json import Json

# --- events (runner → interpreter) ---------------------------------------------------


@dataclass(frozen=True)
class Started:
    """Begin the execution with `input` (any JSON value)."""

    input: Json


@dataclass(frozen=True)
class TaskSucceeded:
    """The invocation for `token` returned `result` (the function's return value)."""

    token: str
    result: Json


@dataclass(frozen=True)
class TaskFailed:
    """The invocation for `token` failed: the function raised, timed out or does not exist.

    For a function error, `error` is its type and `cause` the JSON text of its error payload
    (`{"errorMessage", "errorType", "stackTrace", ...}`); `States.Timeout` for a timeout.
    """

    token: str
    error: str | None
    cause: str | None


@dataclass(frozen=True)
class TimerFired:
    """The timer `token` (from a StartTimer) is due."""

    token: str


@dataclass(frozen=True)
class Resumed:
    """The runner restarted: re-issue the commands for everything still outstanding."""


@dataclass(frozen=True)
class Stop:
    """Abort the execution (`yun flow stop`)."""

    error: str | None = None
    cause: str | None = None


Event = Started | TaskSucceeded | TaskFailed | TimerFired | Resumed | Stop

# --- commands (interpreter → runner) -------------------------------------------------


@dataclass(frozen=True)
class InvokeTask:
    """Invoke `function` (a name, optionally `name:alias`) with `payload`.

    Report the outcome as TaskSucceeded/TaskFailed with the same `token`. `timeout_seconds`
    and `heartbeat_seconds` come from the Task state (None: the function's own timeout).
    """

    token: str
    function: str
    payload: Json
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None


@dataclass(frozen=True)
class StartTimer:
    """Send TimerFired(token) at `fire_at` (or at once if that has passed)."""

    token: str
    fire_at: datetime


@dataclass(frozen=True)
class Cancel:
    """The task or timer `token` is no longer wanted; its outcome will be ignored."""

    token: str


@dataclass(frozen=True)
class Succeeded:
    """The execution ended with `output`."""

    output: Json


@dataclass(frozen=True)
class Failed:
    """The execution ended in failure (`Execution.status` tells FAILED, TIMED_OUT, ABORTED)."""

    error: str | None
    cause: str | None


Command = InvokeTask | StartTimer | Cancel | Succeeded | Failed


class Step(NamedTuple):
    """What one `step` produced. Persist `execution` and `history` together, then run
    `commands`: a crash between the two then repeats commands (same tokens), never loses them.
    """

    execution: Execution
    commands: list[Command]
    history: list[HistoryEvent]


@dataclass(frozen=True)
class Limits:
    """Bounds that stop a runaway or oversized execution with a clear error."""

    max_transitions: int = 25_000
    max_history_events: int = 25_000
    max_payload_bytes: int = 256 * 1024


@dataclass(frozen=True)
class Machine:
    """Who the state machine is, for the context object (`$$.StateMachine`, `$$.Execution`)."""

    name: str = "flow"
    arn_prefix: str = "arn:yun:states:local:000000000000"  # the runner puts the tenant here
    role_arn: str = "arn:yun:iam::000000000000:role/flows"
    type: str = "STANDARD"  # or EXPRESS (no $$.Execution.RedriveCount, "express" ARNs)

    @property
    def arn(self) -> str:
        return f"{self.arn_prefix}:stateMachine:{self.name}"

    def execution_arn(self, execution_name: str) -> str:
        kind = "express" if self.type == "EXPRESS" else "execution"
        return f"{self.arn_prefix}:{kind}:{self.name}:{execution_name}"
