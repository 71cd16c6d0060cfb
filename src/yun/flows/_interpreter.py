"""The interpreter: `step(execution, event, now)` → new execution, commands, history.

Pure: no I/O, no clock, no global randomness (the execution carries its seed). One step
applies the event, then runs every frame that can run until each is finished or waiting
for a task, a timer or its children (`Run.drive`). Frames run depth-first in a fixed
order, so the same inputs always give the same history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from yun.flows import _stateruns
from yun.flows._errors import DATA_LIMIT_EXCEEDED, TIMEOUT
from yun.flows._execution import ABORTED, FAILED, RUNNING, TASK, TIMED_OUT, TIMER, Execution, Frame
from yun.flows._json import Json, dumps, size_bytes
from yun.flows._protocol import (
    Event,
    InvokeTask,
    Limits,
    Machine,
    Resumed,
    Started,
    StartTimer,
    Step,
    Stop,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
)
from yun.flows._run import Run
from yun.flows._states import Definition
from yun.flows._timestamps import format_timestamp, parse_timestamp


class Interpreter:
    """Runs executions of one definition. Holds no execution state itself."""

    def __init__(
        self,
        definition: Definition,
        *,
        machine: Machine | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.definition = definition
        self.machine = machine or Machine()
        self.limits = limits or Limits()

    def step(self, execution: Execution, event: Event, now: datetime) -> Step:
        """Apply `event` at wall-clock time `now` (timezone-aware). `execution` is not changed."""
        if now.tzinfo is None:
            raise ValueError(f"now must be timezone-aware, was: {now!r}")
        run = Run(self.definition, self.machine, self.limits, execution.copy(), now)
        _handle(run, event)
        run.drive()
        return Step(run.ex, run.commands, run.history)


def _handle(run: Run, event: Event) -> None:
    if isinstance(event, Started):
        _start(run, event.input)
    elif run.ex.status != RUNNING:
        return  # a late task result or timer for a finished execution: nothing to do
    elif isinstance(event, TaskSucceeded | TaskFailed):
        frame = _frame_with(run, event.token, TASK)
        if frame is not None:
            run.guarded(frame, partial(_stateruns.task_done, run, frame, event=event))
    elif isinstance(event, TimerFired):
        _timer_fired(run, event.token)
    elif isinstance(event, Resumed):
        _resume(run)
    elif isinstance(event, Stop):
        run.finish(ABORTED, "ExecutionAborted", error=event.error, cause=event.cause)


def _start(run: Run, value: Json) -> None:
    if run.ex.status != "PENDING":
        return  # Started twice (a retried start): the first one counts
    run.ex.status = RUNNING
    run.ex.input = value
    run.ex.start_time = format_timestamp(run.now)
    root = run.new_frame("", run.d.root.start_at, value, parent=None, index=0)
    run.record(
        root,
        "ExecutionStarted",
        {
            "input": dumps(value),
            "inputDetails": {"truncated": False},
            "roleArn": run.machine.role_arn,
        },
    )
    if size_bytes(value) > run.limits.max_payload_bytes:
        run.finish(
            FAILED,
            "ExecutionFailed",
            error=DATA_LIMIT_EXCEEDED,
            cause="The execution input exceeds the maximum number of bytes service limit.",
        )
        return
    if run.d.timeout_seconds:
        run.ex.timeout_token = run.new_token()
        fire_at = run.now + timedelta(seconds=run.d.timeout_seconds)
        run.commands.append(StartTimer(run.ex.timeout_token, fire_at))
    run.ready.append(root.id)


def _timer_fired(run: Run, token: str) -> None:
    if token == run.ex.timeout_token:
        run.finish(
            TIMED_OUT,
            "ExecutionTimedOut",
            error=TIMEOUT,
            cause=f"The execution ran longer than its TimeoutSeconds ({run.d.timeout_seconds}).",
        )
        return
    for frame in list(run.ex.frames.values()):
        if frame.status == TIMER and frame.token == token:
            frame.token = None
            run.guarded(frame, partial(_stateruns.timer_done, run, frame))
        elif frame.status == TASK and frame.timeout_token == token:
            timed_out = TaskFailed(str(frame.token), TIMEOUT, "The task timed out.")
            run.guarded(frame, partial(_stateruns.task_done, run, frame, event=timed_out))


def _resume(run: Run) -> None:
    """Re-issue what is outstanding, with the tokens already handed out."""
    if run.ex.timeout_token and run.d.timeout_seconds and run.ex.start_time:
        start = parse_timestamp(run.ex.start_time)
        assert start is not None
        deadline = start + timedelta(seconds=run.d.timeout_seconds)
        run.commands.append(StartTimer(run.ex.timeout_token, deadline))
    for frame in run.ex.frames.values():
        waiting = frame.waiting
        if frame.status == TASK and frame.token:
            run.commands.append(
                InvokeTask(
                    frame.token,
                    str(waiting["function"]),
                    waiting["payload"],
                    waiting.get("timeout"),
                    waiting.get("heartbeat"),
                )
            )
        if frame.status in (TASK, TIMER) and waiting.get("fire_at"):
            token = frame.token if frame.status == TIMER else frame.timeout_token
            fire_at = parse_timestamp(str(waiting["fire_at"]))
            if token and fire_at:
                run.commands.append(StartTimer(token, fire_at))


def _frame_with(run: Run, token: str, status: str) -> Frame | None:
    for frame in run.ex.frames.values():
        if frame.status == status and frame.token == token:
            return frame
    return None
