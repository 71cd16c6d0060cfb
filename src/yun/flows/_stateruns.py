"""What each state type does when a frame runs it, and when what it waits for arrives.

Entry points, called by the interpreter with the frame's state: `run` (enter or retry),
`task_done`, `timer_done`, `child_done` (a Map iteration or Parallel branch ended) and
`caught` (a Catch took the error). Failures are raised (`EvaluationError`,
`StatesFailure`); the interpreter turns them into Retry, Catch or the end of the frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from yun.flows import _children
from yun.flows import _dataflow as flow
from yun.flows._errors import (
    NO_CHOICE_MATCHED,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    TIMEOUT,
    EvaluationError,
    StatesFailure,
)
from yun.flows._execution import ATTEMPT, BUSY, TASK, Frame
from yun.flows._json import Json, dumps, is_number, text_of
from yun.flows._jsonpath import PathNotFound
from yun.flows._protocol import Cancel, InvokeTask, StartTimer, TaskFailed, TaskSucceeded
from yun.flows._retry import Catcher
from yun.flows._states import (
    INVOKE,
    ChoiceState,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from yun.flows._templates import evaluate_expression
from yun.flows._timestamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from yun.flows._run import Run

_FUNCTION_ARN = re.compile(r"(?:arn:[\w-]+:lambda:[\w-]*:)?(?:\d+:)?function:([\w-]+(?::[\w$-]+)?)")


def run(r: Run, frame: Frame, state: State) -> None:
    _RUNNERS[type(state)](r, frame, state)


def _pass(r: Run, frame: Frame, state: Any) -> None:
    assert isinstance(state, PassState)
    env = r.env(frame, state, frame.input)
    if state.jsonata:
        output = state.output.evaluate(env) if state.output is not None else frame.input
        r.check_size(state, output)
        r.exit_state(frame, state, output, flow.assign(state.assign, env))
        return
    value = flow.payload(state, env)
    result = state.result if state.has_result else value
    r.check_size(state, result)
    assigned = flow.assign(state.assign, env.with_data(result))
    combined = flow.put_result(state.result_path, frame.input, result)
    r.exit_state(frame, state, flow.output_path(state, combined, env), assigned)


def _succeed(r: Run, frame: Frame, state: Any) -> None:
    env = r.env(frame, state, frame.input)
    if state.jsonata:
        output = state.output.evaluate(env) if state.output is not None else frame.input
    else:
        output = flow.output_path(state, flow.effective_input(state, env), env)
    r.exit_state(frame, state, output, None)


def _fail(r: Run, frame: Frame, state: Any) -> None:
    assert isinstance(state, FailState)
    env = r.env(frame, state, frame.input)
    parts: list[str | None] = []
    for literal, path in ((state.error, state.error_path), (state.cause, state.cause_path)):
        value: Json = None
        if literal is not None:
            value = literal.evaluate(env)
        elif path is not None:
            value = evaluate_expression(path, env)
        parts.append(None if value is None else text_of(value))
    r.frame_failed(frame, parts[0], parts[1])


def _choice(r: Run, frame: Frame, state: Any) -> None:
    assert isinstance(state, ChoiceState)
    env = r.env(frame, state, frame.input)
    data = frame.input if state.jsonata else flow.effective_input(state, env)
    env = env.with_data(data)
    chosen = next((branch for branch in state.choices if branch.rule.evaluate(env)), None)
    if chosen is not None:
        target, output = chosen.next, chosen.output or state.output
    elif state.default is not None:
        target, output = state.default, state.output
    else:
        raise EvaluationError(NO_CHOICE_MATCHED, "No Choice rule matched and there is no Default.")
    if state.jsonata:
        value = output.evaluate(env) if output is not None else frame.input
    else:
        value = flow.output_path(state, data, env)
    # The state's Assign applies whichever way the choice went; a matched rule's Assign
    # is added on top of it (and wins where both name the same variable).
    assigned = flow.assign(state.assign, env) or {}
    if chosen is not None:
        assigned.update(flow.assign(chosen.assign, env) or {})
    r.exit_state(frame, state, value, assigned, next_state=target)


def _wait(r: Run, frame: Frame, state: Any) -> None:
    assert isinstance(state, WaitState)
    env = r.env(frame, state, frame.input)
    data = frame.input if state.jsonata else flow.effective_input(state, env)
    env = env.with_data(data)
    until = r.now
    if state.seconds is not None:
        seconds = state.seconds.evaluate(env)
        if not is_number(seconds) or seconds < 0 or not float(seconds).is_integer():
            raise EvaluationError(
                QUERY_EVALUATION_ERROR,
                f"The Seconds field must be a non-negative integer, was: {dumps(seconds)}",
            )
        until = r.now + timedelta(seconds=seconds)
    elif state.timestamp is not None:
        text = state.timestamp.evaluate(env)
        moment = parse_timestamp(text) if isinstance(text, str) else None
        if moment is None:
            raise EvaluationError(
                QUERY_EVALUATION_ERROR,
                "The Timestamp field cannot be parsed "
                f"as an ISO-8601 extended offset date-time format string: "
                f"{text_of(text)}",
            )
        until = moment
    elif state.seconds_path is not None:
        until = r.now + timedelta(seconds=_seconds_at(env, state.seconds_path))
    elif state.timestamp_path is not None:
        until = _timestamp_at(env, state.timestamp_path)
    if state.jsonata:
        output = state.output.evaluate(env) if state.output is not None else frame.input
    else:
        output = flow.output_path(state, data, env)
    assigned = flow.assign(state.assign, env)
    delay = (until - r.now).total_seconds()
    if delay <= 0:
        r.exit_state(frame, state, output, assigned)
        return
    r.schedule(frame, "wait", delay, {"purpose": "wait", "output": output, "assign": assigned})


def _seconds_at(env: Any, path: Any) -> int:
    where = path.text
    try:
        value = env.find(path)
    except PathNotFound:
        raise EvaluationError(
            RUNTIME, f"The SecondsPath parameter does not reference an input value: {where}"
        ) from None
    if not is_number(value) or not float(value).is_integer():
        raise EvaluationError(
            RUNTIME,
            "The SecondsPath parameter cannot be parsed as a long "
            f"value: {where} == {text_of(value)}",
        )
    if value < 0:
        raise EvaluationError(
            RUNTIME,
            f"The SecondsPath parameter references a negative value: {where} == {text_of(value)}",
        )
    return int(value)


def _timestamp_at(env: Any, path: Any) -> Any:
    where = path.text
    try:
        value = env.find(path)
    except PathNotFound:
        raise EvaluationError(
            RUNTIME, f"The TimestampPath parameter does not reference an input value: {where}"
        ) from None
    moment = parse_timestamp(value) if isinstance(value, str) else None
    if moment is None:
        raise EvaluationError(
            RUNTIME,
            "The TimestampPath parameter does not reference a valid "
            "ISO-8601 extended offset date-time format string: "
            f"{where} == {text_of(value)}",
        )
    return moment


def timer_done(r: Run, frame: Frame, state: State) -> None:
    waiting = frame.waiting
    if waiting.get("purpose") == "retry":
        frame.status = ATTEMPT
        r.ready.appendleft(frame.id)
        return
    assigned = waiting.get("assign")
    r.exit_state(
        frame, state, waiting.get("output"), assigned if isinstance(assigned, dict) else None
    )


# --- Task --------------------------------------------------------------------------------


def _task(r: Run, frame: Frame, state: Any) -> None:
    assert isinstance(state, TaskState)
    env = r.env(frame, state, frame.input)
    value = flow.payload(state, env)
    if state.kind == INVOKE:
        name = value.get("FunctionName") if isinstance(value, dict) else None
        if not isinstance(name, str):
            raise EvaluationError(
                RUNTIME,
                f"The lambda:invoke parameters need a FunctionName string, were: {dumps(value)}",
            )
        match = _FUNCTION_ARN.fullmatch(name)
        function = match.group(1) if match else name
        body = flow.lambda_payload(value.get("Payload", {}))
    else:
        function, body = str(state.function), value
    timeout = flow.integer_setting(
        env, state.timeout_seconds, state.timeout_seconds_path, "TimeoutSeconds"
    )
    heartbeat = flow.integer_setting(
        env, state.heartbeat_seconds, state.heartbeat_seconds_path, "HeartbeatSeconds"
    )
    frame.status, frame.token = TASK, r.new_token()
    frame.waiting = {
        "function": function,
        "payload": body,
        "timeout": None if timeout is None else int(timeout),
        "heartbeat": None if heartbeat is None else int(heartbeat),
    }
    if state.kind == INVOKE:
        r.record(
            frame,
            "TaskScheduled",
            {
                "resourceType": "lambda",
                "resource": "invoke",
                "region": "local",
                "parameters": dumps(value),
            },
        )
        r.record(frame, "TaskStarted", {"resourceType": "lambda", "resource": "invoke"})
    else:
        r.record(
            frame, "LambdaFunctionScheduled", {"resource": state.resource, "input": dumps(body)}
        )
        r.record(frame, "LambdaFunctionStarted")
    r.commands.append(
        InvokeTask(
            frame.token, function, body, frame.waiting["timeout"], frame.waiting["heartbeat"]
        )
    )
    if timeout is not None:
        fire_at = r.now + timedelta(seconds=timeout)
        frame.timeout_token = f"{frame.token}:timeout"
        frame.waiting["fire_at"] = format_timestamp(fire_at)
        r.commands.append(StartTimer(frame.timeout_token, fire_at))


def task_done(r: Run, frame: Frame, state: State, *, event: TaskSucceeded | TaskFailed) -> None:
    assert isinstance(state, TaskState)
    if frame.timeout_token is not None and not (
        isinstance(event, TaskFailed) and event.error == TIMEOUT
    ):
        r.commands.append(Cancel(frame.timeout_token))
    if isinstance(event, TaskFailed) and event.error == TIMEOUT and frame.token:
        r.commands.append(Cancel(frame.token))
    frame.token = frame.timeout_token = None
    frame.status = BUSY
    invoke = state.kind == INVOKE
    prefix = "Task" if invoke else "LambdaFunction"
    base = {"resourceType": "lambda", "resource": "invoke"} if invoke else {}
    if isinstance(event, TaskFailed):
        outcome = "TimedOut" if event.error == TIMEOUT else "Failed"
        details = {
            **base,
            **{k: v for k, v in (("error", event.error), ("cause", event.cause)) if v is not None},
        }
        r.record(frame, prefix + outcome, details)
        raise StatesFailure(event.error, event.cause)
    result = event.result
    if invoke:
        result = {"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200}
    r.record(frame, prefix + "Succeeded", {**base, "output": dumps(result)})
    r.check_size(state, result)
    env = r.env(frame, state, frame.input)
    output, assigned = flow.finish_result(state, env, result)
    r.exit_state(frame, state, output, assigned)


def caught(
    r: Run, frame: Frame, state: State, catcher: Catcher, error: dict[str, Json]
) -> tuple[Json, dict[str, Json] | None]:
    """The output and variables of a Catch that took `error` (the error output)."""
    env = r.env(frame, state, error)
    if state.jsonata:
        env.states["errorOutput"] = error
        output = catcher.output.evaluate(env) if catcher.output is not None else error
        return output, flow.assign(catcher.assign, env)
    return flow.put_result(catcher.result_path, frame.input, error), flow.assign(
        catcher.assign, env
    )


_RUNNERS: dict[type, Callable[[Run, Frame, Any], None]] = {
    PassState: _pass,
    TaskState: _task,
    ChoiceState: _choice,
    WaitState: _wait,
    SucceedState: _succeed,
    FailState: _fail,
    ParallelState: _children.run_parallel,
    MapState: _children.run_map,
}
