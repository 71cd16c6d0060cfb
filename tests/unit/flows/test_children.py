"""Map and Parallel: item selection, batching, tolerated failures, variable scopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from yun.flows import (
    Execution,
    Failed,
    Interpreter,
    InvokeTask,
    Started,
    Succeeded,
    TaskFailed,
    TaskSucceeded,
    load_definition,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
TASK = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "f", "End": True}}}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def run_map(map_state: dict[str, Any], value: Any, fail: set[Any] | None = None) -> Any:
    """Run a one-Map machine; tasks echo their payload, or fail when it is in `fail`."""
    interpreter = Interpreter(load_definition({"StartAt": "M", "States": {"M": map_state}}))
    step = interpreter.step(Execution.create("m", seed="s"), Started(value), T0)
    execution = step.execution
    pending = [c for c in step.commands if isinstance(c, InvokeTask)]
    ends = [c for c in step.commands if isinstance(c, Succeeded | Failed)]
    while pending and not ends:
        call = pending.pop(0)
        event: TaskSucceeded | TaskFailed = TaskSucceeded(call.token, call.payload)
        if fail and call.payload in fail:
            event = TaskFailed(call.token, "Boom", f"item {call.payload}")
        step = interpreter.step(execution, event, T0)
        execution = step.execution
        pending += [c for c in step.commands if isinstance(c, InvokeTask)]
        ends = [c for c in step.commands if isinstance(c, Succeeded | Failed)]
    (end,) = ends
    return end


def test_item_selector_sees_the_map_input_and_the_item_in_the_context() -> None:
    end = run_map(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "k.$": "$.k"},
            "ItemProcessor": PASS,
            "End": True,
        },
        {"items": ["a", "b"], "k": 7},
    )
    assert end == Succeeded([{"v": "a", "i": 0, "k": 7}, {"v": "b", "i": 1, "k": 7}])


def test_item_batcher_groups_items_with_the_batch_input() -> None:
    end = run_map(
        {
            "Type": "Map",
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"run": 1}},
            "ItemProcessor": {**PASS, "ProcessorConfig": {"Mode": "DISTRIBUTED"}},
            "End": True,
        },
        [1, 2, 3],
    )
    assert end == Succeeded(
        [{"Items": [1, 2], "BatchInput": {"run": 1}}, {"Items": [3], "BatchInput": {"run": 1}}]
    )


def test_an_inline_map_fails_with_the_error_of_its_failed_iteration() -> None:
    end = run_map({"Type": "Map", "ItemProcessor": TASK, "End": True}, [1, 2], fail={2})
    assert end == Failed("Boom", "item 2")


def test_tolerated_failures_keep_the_map_going_until_the_threshold_is_passed() -> None:
    tolerant = {"Type": "Map", "ToleratedFailureCount": 1, "ItemProcessor": TASK, "End": True}
    assert run_map(tolerant, [1, 2, 3], fail={2}) == Succeeded(
        [1, {"Error": "Boom", "Cause": "item 2"}, 3]
    )
    end = run_map(tolerant, [1, 2, 3], fail={1, 2})
    assert isinstance(end, Failed) and end.error == "States.ExceedToleratedFailureThreshold"


def test_a_distributed_map_tolerates_nothing_by_default() -> None:
    processor = {**TASK, "ProcessorConfig": {"Mode": "DISTRIBUTED"}}
    end = run_map({"Type": "Map", "ItemProcessor": processor, "End": True}, [1], fail={1})
    assert isinstance(end, Failed) and end.error == "States.ExceedToleratedFailureThreshold"


def test_a_distributed_map_cannot_read_outer_variables() -> None:
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"x": 1}, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                    "StartAt": "Read",
                    "States": {"Read": {"Type": "Pass", "Parameters": {"x.$": "$x"}, "End": True}},
                },
                "End": True,
            },
        },
    }
    interpreter = Interpreter(load_definition(definition))
    step = interpreter.step(Execution.create("m", seed="s"), Started([0]), T0)
    (end,) = [c for c in step.commands if isinstance(c, Succeeded | Failed)]
    assert isinstance(end, Failed) and end.error == "States.Runtime"
    assert "The JSONPath '$x' specified for the field 'x.$' could not be found" in str(end.cause)


def test_choice_state_assign_applies_on_every_path_and_a_rule_assign_on_top() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Assign": {"path": "state", "base": 1},
                "Choices": [
                    {"Condition": "{% $states.input.go %}", "Assign": {"path": "rule"},
                     "Next": "Done"}
                ],
                "Default": "Done",
            },
            "Done": {"Type": "Pass", "Output": {"path": "{% $path %}", "base": "{% $base %}"},
                     "End": True},
        },
    }  # fmt: skip
    interpreter = Interpreter(load_definition(definition))
    for go, path in ((True, "rule"), (False, "state")):
        step = interpreter.step(Execution.create("c", seed="s"), Started({"go": go}), T0)
        assert step.execution.output == {"path": path, "base": 1}
