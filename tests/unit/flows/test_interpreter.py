"""The interpreter's contract: events in, commands and history out, nothing else.

Each test drives `Interpreter.step` by hand, playing the runner: it answers InvokeTask
commands, fires timers on a fake clock, restarts from the stored JSON value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from yun.flows import (
    Cancel,
    Execution,
    Failed,
    Interpreter,
    InvokeTask,
    Limits,
    Resumed,
    Started,
    StartTimer,
    Step,
    Stop,
    Succeeded,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    load_definition,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def machine(states: dict[str, Any], limits: Limits | None = None, **top: Any) -> Interpreter:
    definition = {"StartAt": next(iter(states)), "States": states, **top}
    return Interpreter(load_definition(definition), limits=limits)


def start(interpreter: Interpreter, value: Any = None, name: str = "run") -> Step:
    return interpreter.step(Execution.create(name, seed="seed"), Started(value), T0)


def invocations(step: Step) -> list[InvokeTask]:
    return [c for c in step.commands if isinstance(c, InvokeTask)]


def outcome(step: Step) -> Succeeded | Failed | None:
    ends = [c for c in step.commands if isinstance(c, Succeeded | Failed)]
    return ends[0] if ends else None


def test_a_pass_chain_succeeds_with_history_numbered_from_one() -> None:
    interpreter = machine(
        {
            "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"y.$": "$.a.x"}, "End": True},
        }
    )
    step = start(interpreter, {"in": 0})
    assert outcome(step) == Succeeded({"y": 1})
    assert step.execution.status == "SUCCEEDED"
    assert [(e.id, e.previous_event_id, e.type) for e in step.history] == [
        (1, 0, "ExecutionStarted"),
        (2, 1, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "PassStateEntered"),
        (5, 4, "PassStateExited"),
        (6, 5, "ExecutionSucceeded"),
    ]
    assert step.history[1].to_json()["stateEnteredEventDetails"] == {
        "name": "A",
        "input": '{"in":0}',
        "inputDetails": {"truncated": False},
    }


def test_step_leaves_its_input_alone_and_repeats_exactly() -> None:
    interpreter = machine(
        {"A": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "End": True}}
    )
    execution = Execution.create("run", seed="fixed")
    before = execution.to_json()
    first = interpreter.step(execution, Started({}), T0)
    second = interpreter.step(execution, Started({}), T0)
    assert execution.to_json() == before
    assert first.execution.to_json() == second.execution.to_json()
    assert first.commands == second.commands


def test_a_task_is_a_command_and_its_result_flows_through_result_path() -> None:
    interpreter = machine(
        {"T": {"Type": "Task", "Resource": "double", "ResultPath": "$.out", "End": True}}
    )
    step = start(interpreter, {"n": 2})
    (call,) = invocations(step)
    assert (call.function, call.payload) == ("double", {"n": 2})
    assert step.execution.status == "RUNNING"
    done = interpreter.step(step.execution, TaskSucceeded(call.token, 4), T0)
    assert outcome(done) == Succeeded({"n": 2, "out": 4})
    assert [e.type for e in done.history] == [
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_lambda_invoke_results_are_shaped_like_aws() -> None:
    interpreter = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": "arn:aws:lambda:us-east-1:111111111111:function:echo:live",
                    "Payload": "true",
                },
                "End": True,
            }
        }
    )
    step = start(interpreter, {})
    (call,) = invocations(step)
    assert (call.function, call.payload) == ("echo:live", True)
    done = interpreter.step(step.execution, TaskSucceeded(call.token, True), T0)
    assert outcome(done) == Succeeded(
        {"ExecutedVersion": "$LATEST", "Payload": True, "StatusCode": 200}
    )


def test_a_stored_execution_resumes_with_the_same_task_token() -> None:
    interpreter = machine({"T": {"Type": "Task", "Resource": "slow", "End": True}})
    step = start(interpreter, {})
    (call,) = invocations(step)
    stored = json.loads(json.dumps(step.execution.to_json()))
    resumed = interpreter.step(Execution.from_json(stored), Resumed(), T0)
    assert invocations(resumed) == [call]
    assert resumed.history == []
    done = interpreter.step(resumed.execution, TaskSucceeded(call.token, "ok"), T0)
    assert outcome(done) == Succeeded("ok")


def test_results_for_unknown_or_stale_tokens_are_ignored() -> None:
    interpreter = machine({"T": {"Type": "Task", "Resource": "f", "End": True}})
    step = start(interpreter, {})
    ignored = interpreter.step(step.execution, TaskSucceeded("nobody#9", 1), T0)
    assert ignored.commands == [] and ignored.history == []
    (call,) = invocations(step)
    done = interpreter.step(step.execution, TaskSucceeded(call.token, 1), T0)
    again = interpreter.step(done.execution, TaskSucceeded(call.token, 2), T0)
    assert again.commands == [] and again.execution.output == 1


def test_a_map_keeps_at_most_max_concurrency_tasks_outstanding_and_keeps_item_order() -> None:
    interpreter = machine(
        {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": "f", "End": True}},
                },
                "End": True,
            }
        }
    )
    step = start(interpreter, [1, 2, 3])
    first, second = invocations(step)
    step = interpreter.step(step.execution, TaskSucceeded(second.token, "two"), T0)
    (third,) = invocations(step)
    assert third.payload == 3
    step = interpreter.step(step.execution, TaskSucceeded(third.token, "three"), T0)
    assert invocations(step) == []
    step = interpreter.step(step.execution, TaskSucceeded(first.token, "one"), T0)
    assert outcome(step) == Succeeded(["one", "two", "three"])


def test_parallel_branches_run_at_once_and_a_failure_cancels_the_others() -> None:
    branch = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "f", "End": True}}}
    interpreter = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [branch, branch],
                "Catch": [{"ErrorEquals": ["Boom"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        }
    )
    step = start(interpreter, {})
    left, right = invocations(step)
    step = interpreter.step(step.execution, TaskFailed(left.token, "Boom", "bad"), T0)
    assert Cancel(right.token) in step.commands
    assert outcome(step) == Succeeded({"Error": "Boom", "Cause": "bad"})


def test_retry_waits_the_backoff_then_tries_again_with_a_new_token() -> None:
    interpreter = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "flaky",
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "C"}],
                "End": True,
            },
            "C": {"Type": "Pass", "End": True},
        }
    )
    step = start(interpreter, {})
    (call,) = invocations(step)
    step = interpreter.step(step.execution, TaskFailed(call.token, "Boom", "1"), T0)
    (timer,) = [c for c in step.commands if isinstance(c, StartTimer)]
    assert timer.fire_at == T0 + timedelta(seconds=2)
    step = interpreter.step(step.execution, TimerFired(timer.token), timer.fire_at)
    (retry,) = invocations(step)
    assert retry.token != call.token
    step = interpreter.step(step.execution, TaskFailed(retry.token, "Boom", "2"), T0)
    assert outcome(step) == Succeeded({"err": {"Error": "Boom", "Cause": "2"}})


def test_a_task_timeout_fails_with_states_timeout() -> None:
    interpreter = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "slow",
                "TimeoutSeconds": 5,
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "NotThis"},
                          {"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}],
                "End": True,
            },
            "NotThis": {"Type": "Fail"},
            "TimedOut": {"Type": "Pass", "End": True},
        }
    )  # fmt: skip
    step = start(interpreter, {})
    (call,) = invocations(step)
    assert call.timeout_seconds == 5
    (timer,) = [c for c in step.commands if isinstance(c, StartTimer)]
    step = interpreter.step(step.execution, TimerFired(timer.token), timer.fire_at)
    assert Cancel(call.token) in step.commands
    assert outcome(step) == Succeeded({"Error": "States.Timeout", "Cause": "The task timed out."})


def test_a_wait_is_a_timer_and_a_past_timestamp_does_not_wait() -> None:
    interpreter = machine(
        {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": True},
        }
    )
    step = start(interpreter, {"k": 1})
    (timer,) = step.commands
    assert isinstance(timer, StartTimer) and timer.fire_at == T0 + timedelta(hours=1)
    done = interpreter.step(step.execution, TimerFired(timer.token), timer.fire_at)
    assert outcome(done) == Succeeded({"k": 1})


def test_a_runaway_loop_is_stopped_by_the_transition_limit() -> None:
    interpreter = machine(
        {"Loop": {"Type": "Pass", "Next": "Loop"}}, limits=Limits(max_transitions=50)
    )
    step = start(interpreter, {})
    result = outcome(step)
    assert isinstance(result, Failed) and result.error == "States.Runtime"
    assert "50 state transitions" in str(result.cause)
    assert step.execution.transitions == 51


def test_a_result_over_the_payload_limit_is_data_limit_exceeded() -> None:
    interpreter = machine(
        {"T": {"Type": "Task", "Resource": "big", "End": True}},
        limits=Limits(max_payload_bytes=100),
    )
    step = start(interpreter, {})
    (call,) = invocations(step)
    done = interpreter.step(step.execution, TaskSucceeded(call.token, "x" * 200), T0)
    assert outcome(done) == Failed(
        "States.DataLimitExceeded",
        "The state/task 'T' returned a result with a size exceeding the maximum number of "
        "bytes service limit.",
    )


def test_history_beyond_its_limit_fails_the_execution() -> None:
    interpreter = machine(
        {"Loop": {"Type": "Pass", "Next": "Loop"}}, limits=Limits(max_history_events=10)
    )
    result = outcome(start(interpreter, {}))
    assert isinstance(result, Failed) and "10 events" in str(result.cause)


def test_stop_aborts_and_cancels_what_is_outstanding() -> None:
    interpreter = machine({"T": {"Type": "Task", "Resource": "f", "End": True}})
    step = start(interpreter, {})
    (call,) = invocations(step)
    stopped = interpreter.step(step.execution, Stop("User", "stopped"), T0)
    assert stopped.execution.status == "ABORTED"
    assert stopped.commands == [Cancel(call.token), Failed("User", "stopped")]
    assert stopped.history[-1].type == "ExecutionAborted"


def test_the_machine_timeout_ends_the_execution_as_timed_out() -> None:
    interpreter = machine({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=10)
    step = start(interpreter, {})
    deadline = next(c for c in step.commands if isinstance(c, StartTimer))
    assert deadline.fire_at == T0 + timedelta(seconds=10)
    done = interpreter.step(step.execution, TimerFired(deadline.token), deadline.fire_at)
    assert done.execution.status == "TIMED_OUT"
    assert isinstance(outcome(done), Failed)


def test_map_iterations_read_outer_variables_but_their_own_stay_inside() -> None:
    interpreter = machine(
        {
            "Set": {"Type": "Pass", "Assign": {"bias": 10}, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Add",
                    "States": {
                        "Add": {
                            "Type": "Pass",
                            "Parameters": {"v.$": "States.MathAdd($, $bias)"},
                            "Assign": {"inner": 1},
                            "End": True,
                        }
                    },
                },
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$inner", "IsPresent": True, "Next": "Leak"}],
                "Default": "Done",
            },
            "Leak": {"Type": "Fail", "Error": "Leaked"},
            "Done": {"Type": "Pass", "End": True},
        }
    )
    step = start(interpreter, [1, 2])
    assert outcome(step) == Succeeded([{"v": 11}, {"v": 12}])
    assert "DoneStateEntered" not in [e.type for e in step.history]
    assert [e.details.get("name") for e in step.history if e.type == "PassStateEntered"][-1] == (
        "Done"
    )


def test_now_must_be_timezone_aware() -> None:
    interpreter = machine({"A": {"Type": "Pass", "End": True}})
    with pytest.raises(ValueError, match="timezone-aware"):
        interpreter.step(Execution.create("x"), Started({}), datetime(2025, 1, 1))


def test_a_second_started_event_changes_nothing() -> None:
    interpreter = machine({"T": {"Type": "Task", "Resource": "f", "End": True}})
    step = start(interpreter, {"a": 1})
    again = interpreter.step(step.execution, Started({"b": 2}), T0)
    assert again.commands == [] and again.execution.input == {"a": 1}
