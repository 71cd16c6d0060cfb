"""Definitions load from JSON or YAML; every problem is reported naming state and field."""

from __future__ import annotations

from typing import Any

import pytest

from yun.flows import DefinitionError, load_definition
from yun.flows._states import FUNCTION, INVOKE, MapState, TaskState


def machine(**states: Any) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def problems(definition: Any) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition)
    return caught.value.problems


def test_json_and_yaml_text_load_to_the_same_definition() -> None:
    text_json = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'
    text_yaml = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n"
    assert load_definition(text_json).root == load_definition(text_yaml).root


def test_broken_text_is_reported_with_its_position() -> None:
    (problem,) = problems("StartAt: A\nStates: {A: {Type: Pass\n")
    assert "neither JSON" in problem and "line" in problem


def test_an_unknown_state_type_names_the_state() -> None:
    assert problems(machine(A={"Type": "Pas", "End": True})) == [
        "state 'A': field 'Type' must be one of Pass, Task, Choice, Wait, Succeed, Fail, "
        'Parallel, Map, was: "Pas"'
    ]


def test_a_state_needs_exactly_one_of_next_and_end() -> None:
    assert problems(machine(A={"Type": "Pass"})) == [
        "state 'A': must have either 'Next' or 'End': true (exactly one)"
    ]
    assert problems(machine(A={"Type": "Pass", "Next": "A", "End": True}))


def test_a_transition_to_nowhere_names_the_field() -> None:
    definition = machine(
        A={"Type": "Task", "Resource": "f", "Next": "B",
           "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]},
        B={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Nope"}],
           "Default": "Never"},
    )  # fmt: skip
    assert problems(definition) == [
        "state 'A': field 'Catch[0].Next': 'Gone' is not a state of this block",
        "state 'B': field 'Choices[0].Next': 'Nope' is not a state of this block",
        "state 'B': field 'Default': 'Never' is not a state of this block",
    ]


def test_unreachable_states_are_reported() -> None:
    definition = machine(A={"Type": "Pass", "End": True}, B={"Type": "Pass", "End": True})
    assert problems(definition) == ["state 'B': is unreachable from StartAt 'A'"]


def test_bad_paths_intrinsics_and_jsonata_name_their_field() -> None:
    found = problems(
        machine(
            A={"Type": "Pass", "InputPath": "$.a[", "Next": "B"},
            B={"Type": "Pass", "Parameters": {"x.$": "States.Nope($.a)"}, "Next": "C"},
            C={"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $x + %}", "End": True},
        )
    )
    assert found[0] == "state 'A': field 'InputPath': unclosed '[' in '$.a['"
    assert found[1] == "state 'B': field 'x.$': unknown intrinsic function 'States.Nope'"
    assert found[2].startswith("state 'C': field 'Output': bad JSONata expression '$x +'")


def test_fields_of_the_other_query_language_are_refused() -> None:
    found = problems(
        machine(
            A={"Type": "Pass", "Output": {}, "Next": "B"},
            B={"Type": "Pass", "QueryLanguage": "JSONata", "InputPath": "$", "End": True},
        )
    )
    assert found == [
        "state 'A': field 'Output' is not allowed in a JSONPath state",
        "state 'B': field 'InputPath' is not allowed in a JSONata state",
    ]


def test_a_jsonata_machine_cannot_have_a_jsonpath_state() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
    }
    assert problems(definition) == [
        "state 'A': cannot use JSONPath when the state machine's QueryLanguage is JSONata"
    ]


def test_unknown_fields_and_unsupported_features_are_named() -> None:
    found = problems(machine(A={"Type": "Pass", "Resultt": 1, "End": True}))
    assert found == ["state 'A': field 'Resultt' is not allowed in a Pass state"]
    found = problems(
        machine(A={"Type": "Map", "ItemReader": {}, "ItemProcessor": machine(
            B={"Type": "Pass", "End": True}), "End": True})
    )  # fmt: skip
    assert found == [
        "state 'A': field 'ItemReader' (reading items from a bucket) is not supported by Yun"
    ]


def test_task_resources_are_functions() -> None:
    definition = load_definition(
        machine(
            A={"Type": "Task", "Resource": "resize:prod", "Next": "B"},
            B={"Type": "Task", "Next": "C",
               "Resource": "arn:aws:lambda:us-east-1:111111111111:function:thumbs"},
            C={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
               "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "End": True},
        )
    )  # fmt: skip
    states = definition.root.states
    assert isinstance(states["A"], TaskState) and states["A"].function == "resize:prod"
    assert isinstance(states["B"], TaskState) and states["B"].function == "thumbs"
    assert isinstance(states["C"], TaskState) and states["C"].kind == INVOKE
    assert states["A"].kind == FUNCTION
    found = problems(machine(A={"Type": "Task", "Resource": "arn:aws:states:::sqs:send",
                                "End": True}))  # fmt: skip
    assert "Yun runs functions only" in found[0]
    found = problems(machine(A={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {}, "End": True}))  # fmt: skip
    assert "FunctionName" in found[0]


def test_retry_fields_are_checked() -> None:
    found = problems(
        machine(
            A={
                "Type": "Task",
                "Resource": "f",
                "End": True,
                "Retry": [
                    {"ErrorEquals": ["States.ALL", "X"], "BackoffRate": 0.5},
                    {"ErrorEquals": [], "JitterStrategy": "SOME"},
                ],
            }
        )
    )
    assert found == [
        "state 'A': field 'Retry[0].ErrorEquals': States.ALL must be alone and in the last "
        "retrier or catcher",
        "state 'A': field 'Retry[0].BackoffRate' must be a number >= 1.0, was: 0.5",
        "state 'A': field 'Retry[1].ErrorEquals' must be a non-empty array of error names, was: []",
    ]


def test_nested_blocks_are_validated_and_named() -> None:
    found = problems(
        machine(
            P={"Type": "Parallel", "End": True,
               "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}}]},
        )
    )  # fmt: skip
    assert found == ["state 'X': field 'Next': 'Y' is not a state of this block"]


def test_a_map_keeps_its_processor_as_a_block_and_knows_distributed_mode() -> None:
    definition = load_definition(
        machine(
            M={"Type": "Map", "End": True, "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}},
        )
    )  # fmt: skip
    state = definition.root.states["M"]
    assert isinstance(state, MapState) and state.distributed
    assert definition.blocks[state.processor].isolated


def test_a_heartbeat_must_be_shorter_than_the_timeout() -> None:
    found = problems(machine(A={"Type": "Task", "Resource": "f", "TimeoutSeconds": 10,
                                "HeartbeatSeconds": 10, "End": True}))  # fmt: skip
    assert found == [
        "state 'A': field 'HeartbeatSeconds' must be smaller than TimeoutSeconds, was: 10"
    ]
