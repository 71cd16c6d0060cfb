"""What the runner stores for a step, and the names it gives things. Pure.

A step's commands split in two: timers are rows written in the step's own transaction
(`to_write`), everything else is carried out after that transaction commits.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from typing import Any

from yun.core import InvalidRequest
from yun.flows._errors import RUNTIME
from yun.flows._execution import FAILED, TASK, TIMER, Execution, Frame
from yun.flows._history import HistoryEvent
from yun.flows._protocol import Cancel, Command, Failed, StartTimer, Step
from yun.flows._timestamps import format_timestamp
from yun.store import ExecutionWrite

FLOW_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
# As Step Functions: up to 80 characters, none of them whitespace, brackets, wildcards or
# the special characters it refuses (among them ':' and '/', which Yun's ids use).
EXECUTION_NAME = re.compile(r"[A-Za-z0-9_.\-=+@!']{1,80}")


def check_flow_name(name: str) -> str:
    if not FLOW_NAME.fullmatch(name):
        raise InvalidRequest("flow name must be 1-63 lowercase letters, digits or '-', "
                             f"starting with a letter, was: {name!r}")  # fmt: skip
    return name


def check_execution_name(name: str) -> str:
    if not EXECUTION_NAME.fullmatch(name):
        raise InvalidRequest("execution name must be 1-80 letters, digits or _ . - = + @ ! ', "
                             f"was: {name!r}")  # fmt: skip
    return name


def split_execution_id(execution_id: str) -> tuple[str, str] | None:
    """"FLOW:NAME" → (flow, name); None when it cannot name an execution."""
    flow, sep, name = execution_id.partition(":")
    if not sep or not FLOW_NAME.fullmatch(flow) or not EXECUTION_NAME.fullmatch(name):
        return None
    return flow, name


def request_id(uid: str, token: str) -> str:
    """The stable id of one task attempt: `<execution uid>-<n>` for token `<name>#<n>`.
    Unique across tenants (the uid is random), and what the function first sees as its
    request id; a re-delivery of the same attempt appends `.<random>` (see the runner)."""
    return f"{uid}-{token.rpartition('#')[2]}"


def to_write(
    uid: str, step: Step, fired: list[str], resumed: bool, epoch: float
) -> ExecutionWrite:
    """The rows one step (or several steps of one execution, merged) changes."""
    timers: dict[str, float] = {}
    done: set[str] = set(fired)
    for command in step.commands:
        if isinstance(command, StartTimer):
            timers[command.token] = command.fire_at.timestamp()
            done.discard(command.token)
        elif isinstance(command, Cancel):
            timers.pop(command.token, None)
            done.add(command.token)
    ex = step.execution
    return ExecutionWrite(
        uid=uid,
        status=ex.status,
        state=state_json(ex),
        output=ex.output,
        error=ex.error,
        cause=ex.cause,
        stopped_at=epoch if ex.done else None,
        history=[(event.id, event.to_json()) for event in step.history],
        timers=sorted(timers.items()),
        timers_done=sorted(done),
        resumed=resumed,
    )


_EXECUTION_FIELDS = [f.name for f in fields(Execution) if f.name != "frames"]
_FRAME_FIELDS = [f.name for f in fields(Frame)]


def state_json(ex: Execution) -> dict[str, Any]:
    """`ex.to_json()` without its deep copy: the same shape, sharing the values.

    Safe because it is serialised before the next step, and steps never change a value in
    place (they copy frames; payloads are never mutated): a shallow view is enough, and
    copying every payload on every step would make a step cost as much as its data.
    """
    data = {name: getattr(ex, name) for name in _EXECUTION_FIELDS}
    data["frames"] = {key: {name: getattr(frame, name) for name in _FRAME_FIELDS}
                      for key, frame in ex.frames.items()}  # fmt: skip
    return data


def merge(first: Step, second: Step) -> Step:
    """Two consecutive steps of one execution as one."""
    return Step(second.execution, [*first.commands, *second.commands],
                [*first.history, *second.history])  # fmt: skip


def internal_failure(execution: Execution, now: datetime, message: str) -> Step:
    """End an execution the engine cannot go on with (a bug, a definition that no longer
    loads) as FAILED with States.Runtime, cancelling what it waited for: the failure stays
    with this one execution."""
    ex = execution.copy()
    commands: list[Command] = []
    for frame in ex.frames.values():
        for token in (frame.token, frame.timeout_token):
            if token is not None and frame.status in (TASK, TIMER):
                commands.append(Cancel(token))
    if ex.timeout_token:
        commands.append(Cancel(ex.timeout_token))
    cause = f"The flow engine could not run this execution: {message}"
    event = HistoryEvent(ex.next_event_id, max(ex.next_event_id - 1, 0), now,
                         "ExecutionFailed", {"error": RUNTIME, "cause": cause})  # fmt: skip
    ex.next_event_id += 1
    ex.status, ex.error, ex.cause = FAILED, RUNTIME, cause
    ex.stop_time = format_timestamp(now)
    commands.append(Failed(RUNTIME, cause))
    return Step(ex, commands, [event])
