"""One step in progress: the execution being changed, and what the step emits.

`Run` is what state logic (`_stateruns`, `_children`) calls: evaluation environments, the
history, tokens and frames, and the three ways a state ends: it exits (to its Next, or
ending its frame), it fails (Retry, Catch, or failing its frame), or its frame ends (the
parent Map/Parallel is told, or the execution ends).
"""

from __future__ import annotations

import random
from collections import ChainMap, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from yun.flows import _children, _stateruns
from yun.flows._errors import DATA_LIMIT_EXCEEDED, RUNTIME, TERMINAL, EvaluationError, StatesFailure
from yun.flows._execution import (
    ATTEMPT,
    CHILDREN,
    ENTER,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TASK,
    TIMED_OUT,
    TIMER,
    Execution,
    Frame,
)
from yun.flows._history import HistoryEvent
from yun.flows._json import Json, dumps, size_bytes
from yun.flows._protocol import Cancel, Command, Failed, Limits, Machine, StartTimer, Succeeded
from yun.flows._retry import backoff_seconds, error_output, find_catcher, find_retrier
from yun.flows._states import Definition, MapState, ParallelState, State, TaskState
from yun.flows._templates import Env
from yun.flows._timestamps import format_timestamp

StateAction = Callable[[State], None]


class Run:
    """One step in progress: the execution being changed and what the step emits."""

    def __init__(
        self, definition: Definition, machine: Machine, limits: Limits, ex: Execution, now: datetime
    ) -> None:
        self.d = definition
        self.machine = machine
        self.limits = limits
        self.ex = ex
        self.now = now
        self.commands: list[Command] = []
        self.history: list[HistoryEvent] = []
        self.ready: deque[str] = deque()

    def drive(self) -> None:
        while self.ready and self.ex.status == RUNNING:
            frame = self.ex.frames.get(self.ready.popleft())
            if frame is None or frame.status not in (ENTER, ATTEMPT):
                continue
            state = self.d.state(frame.block, frame.state)
            if frame.status == ENTER and not self.enter(frame, state):
                return
            self.guarded(frame, partial(_stateruns.run, self, frame))

    def enter(self, frame: Frame, state: State) -> bool:
        self.ex.transitions += 1
        if self.ex.transitions > self.limits.max_transitions:
            self.finish(
                FAILED,
                "ExecutionFailed",
                error=RUNTIME,
                cause="The execution made "
                f"more than {self.limits.max_transitions} state transitions "
                "(Limits.max_transitions); it was stopped as a runaway loop.",
            )
            return False
        frame.retry_counts, frame.retries = {}, 0
        frame.entered_time = format_timestamp(self.now)
        frame.entered = self.record(
            frame,
            f"{state.type}StateEntered",
            {"name": state.name, "input": dumps(frame.input), "inputDetails": {"truncated": False}},
        )
        return self.ex.status == RUNNING

    def guarded(self, frame: Frame, action: StateAction) -> None:
        """Run `action` for the frame's state; a failure goes to Retry/Catch."""
        state = self.d.state(frame.block, frame.state)
        try:
            action(state)
        except EvaluationError as exc:
            self.fail_state(frame, state, exc.error, self.cause(frame, state, exc.message))
        except StatesFailure as exc:
            self.fail_state(frame, state, exc.error, exc.cause)

    def cause(self, frame: Frame, state: State, message: str) -> str:
        return (
            f"An error occurred while executing the state '{state.name}' (entered at the "
            f"event id #{frame.entered}). {message}"
        )

    # --- what states call ------------------------------------------------------------

    def env(
        self, frame: Frame, state: State, data: Json, item: tuple[int, Json] | None = None
    ) -> Env:
        context = self.context(frame, state, item)
        rng = random.Random(f"{self.ex.seed}:{self.ex.next_event_id}:{frame.id}")
        states: dict[str, Json] = {"input": frame.input, "context": context}
        return Env(data, context, self.scope(frame), self.now, rng, states)

    def context(self, frame: Frame, state: State, item: tuple[int, Json] | None) -> Json:
        execution: dict[str, Json] = {
            "Id": self.machine.execution_arn(self.ex.name),
            "Input": self.ex.input,
            "Name": self.ex.name,
            "RoleArn": self.machine.role_arn,
            "StartTime": self.ex.start_time,
        }
        if self.machine.type != "EXPRESS":
            execution["RedriveCount"] = 0
        current: dict[str, Json] = {"Name": state.name, "EnteredTime": frame.entered_time}
        if isinstance(state, TaskState | MapState | ParallelState):
            current["RetryCount"] = frame.retries
        context: dict[str, Json] = {
            "Execution": execution,
            "StateMachine": {"Id": self.machine.arn, "Name": self.machine.name},
            "State": current,
        }
        if item is not None:
            context["Map"] = {"Item": {"Index": item[0], "Value": item[1]}}
        return context

    def scope(self, frame: Frame) -> ChainMap[str, Json]:
        """The variables `frame` can read: its own, then outer scopes' (not past isolation)."""
        scopes = [frame.variables]
        current = frame
        while current.parent is not None and not self.d.blocks[current.block].isolated:
            current = self.ex.frames[current.parent]
            scopes.append(current.variables)
        return ChainMap(*scopes)

    def record(
        self,
        frame: Frame | None,
        event_type: str,
        details: dict[str, Json] | None = None,
        after: int | None = None,
    ) -> int:
        """Append a history event to `frame`'s thread (`after`: the event it follows)."""
        event_id = self.ex.next_event_id
        self.ex.next_event_id += 1
        previous = frame.last_event if frame is not None else event_id - 1
        if after is not None:
            previous = after
        self.history.append(HistoryEvent(event_id, previous, self.now, event_type, details or {}))
        if frame is not None:
            frame.last_event = event_id
        if event_id > self.limits.max_history_events and self.ex.status == RUNNING:
            self.finish(
                FAILED,
                "ExecutionFailed",
                error=RUNTIME,
                cause="The execution history "
                f"reached {self.limits.max_history_events} events "
                "(Limits.max_history_events).",
            )
        return event_id

    def new_token(self) -> str:
        self.ex.next_token += 1
        return f"{self.ex.name}#{self.ex.next_token}"

    def new_frame(
        self, block: str, state: str, value: Json, parent: str | None, index: int
    ) -> Frame:
        frame_id = f"f{self.ex.next_frame}"
        self.ex.next_frame += 1
        frame = Frame(frame_id, block, state, value, parent=parent, index=index)
        if parent is not None:
            frame.last_event = self.ex.frames[parent].last_event
        self.ex.frames[frame_id] = frame
        return frame

    def check_size(self, state: State, value: Json) -> None:
        if size_bytes(value) > self.limits.max_payload_bytes:
            raise StatesFailure(
                DATA_LIMIT_EXCEEDED,
                f"The state/task '{state.name}' returned a "
                "result with a size exceeding the maximum number of bytes "
                "service limit.",
            )

    def exit_state(
        self,
        frame: Frame,
        state: State,
        output: Json,
        assigned: dict[str, Json] | None,
        next_state: str | None = None,
    ) -> None:
        """The state is done: commit its variables, then move on or finish the frame."""
        if size_bytes(output) > self.limits.max_payload_bytes:
            # Terminal, so it needs no Retry/Catch: fail here rather than raise.
            self.frame_failed(
                frame,
                DATA_LIMIT_EXCEEDED,
                f"The state/task '{state.name}' "
                "returned a result with a size exceeding the maximum number of "
                "bytes service limit.",
                terminal=True,
            )
            return
        if assigned:
            frame.variables.update(assigned)
        if state.type != "Fail":
            self.record(
                frame,
                f"{state.type}StateExited",
                {
                    "name": state.name,
                    "output": dumps(output),
                    "outputDetails": {"truncated": False},
                },
            )
        target = next_state or state.next
        if target is None or state.type == "Succeed":
            self.frame_succeeded(frame, output)
            return
        frame.state, frame.input, frame.status = target, output, ENTER
        frame.token = frame.timeout_token = None
        frame.waiting, frame.children = {}, {}
        self.ready.appendleft(frame.id)

    def fail_state(self, frame: Frame, state: State, error: str | None, cause: str | None) -> None:
        """`state` failed: retry it, catch the error, or fail the frame."""
        self.cancel_waits(frame)
        if error in TERMINAL:
            self.frame_failed(frame, error, cause, terminal=True)
            return
        index = find_retrier(state.retry, error)
        if index is not None:
            retrier = state.retry[index]
            done = frame.retry_counts.get(str(index), 0)
            if done < retrier.max_attempts:
                frame.retry_counts[str(index)] = done + 1
                frame.retries += 1
                rng = random.Random(f"{self.ex.seed}:retry:{self.ex.next_event_id}")
                delay = backoff_seconds(retrier, done, rng)
                self.schedule(frame, ATTEMPT, delay, {"purpose": "retry"})
                return
        catcher = find_catcher(state.catch, error)
        if catcher is None:
            self.frame_failed(frame, error, cause)
            return
        try:
            output, assigned = _stateruns.caught(
                self, frame, state, catcher, error_output(error, cause)
            )
        except EvaluationError as exc:
            self.frame_failed(frame, exc.error, self.cause(frame, state, exc.message))
            return
        self.exit_state(frame, state, output, assigned, next_state=catcher.next)

    def schedule(self, frame: Frame, then: str, delay: float, waiting: dict[str, Json]) -> None:
        """Continue `frame` with status `then` after `delay` seconds (at once if none)."""
        if delay <= 0:
            frame.status = then
            self.ready.appendleft(frame.id)
            return
        fire_at = self.now + timedelta(seconds=delay)
        frame.status, frame.token = TIMER, self.new_token()
        frame.waiting = {**waiting, "then": then, "fire_at": format_timestamp(fire_at)}
        self.commands.append(StartTimer(frame.token, fire_at))

    def cancel_waits(self, frame: Frame) -> None:
        for token in (frame.token, frame.timeout_token):
            if token is not None and frame.status in (TASK, TIMER):
                self.commands.append(Cancel(token))
        frame.token = frame.timeout_token = None
        if frame.status == CHILDREN:
            self.abort_children(frame)

    def abort_children(self, frame: Frame) -> None:
        for child in [f for f in self.ex.frames.values() if f.parent == frame.id]:
            self.cancel_waits(child)
            state = self.d.state(frame.block, frame.state)
            if isinstance(state, MapState):
                self.record(
                    frame, "MapIterationAborted", {"name": state.name, "index": child.index}
                )
            del self.ex.frames[child.id]
        frame.children = {}

    # --- ending frames and the execution ---------------------------------------------

    def frame_succeeded(self, frame: Frame, output: Json) -> None:
        if frame.parent is None:
            self.ex.output = output
            self.finish(SUCCEEDED, "ExecutionSucceeded", output=output)
            return
        parent = self.ex.frames[frame.parent]
        del self.ex.frames[frame.id]
        self.guarded(parent, lambda s: _children.child_done(self, parent, s, frame, output, None))

    def frame_failed(
        self, frame: Frame, error: str | None, cause: str | None, terminal: bool = False
    ) -> None:
        if frame.parent is None or terminal:
            self.finish(FAILED, "ExecutionFailed", error=error, cause=cause)
            return
        parent = self.ex.frames[frame.parent]
        del self.ex.frames[frame.id]
        self.guarded(
            parent, lambda s: _children.child_done(self, parent, s, frame, None, (error, cause))
        )

    def finish(
        self,
        status: str,
        event_type: str,
        *,
        output: Json = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        if self.ex.done:
            return
        root = next((f for f in self.ex.frames.values() if f.parent is None), None)
        self.ex.status = status
        self.ex.stop_time = format_timestamp(self.now)
        for frame in self.ex.frames.values():
            for token in (frame.token, frame.timeout_token):
                if token is not None and frame.status in (TASK, TIMER):
                    self.commands.append(Cancel(token))
        if self.ex.timeout_token and status != TIMED_OUT:
            self.commands.append(Cancel(self.ex.timeout_token))
        self.ex.frames = {}
        if status == SUCCEEDED:
            self.record(
                root, event_type, {"output": dumps(output), "outputDetails": {"truncated": False}}
            )
            self.commands.append(Succeeded(output))
        else:
            self.ex.error, self.ex.cause = error, cause
            details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
            self.record(root, event_type, details)
            self.commands.append(Failed(error, cause))
