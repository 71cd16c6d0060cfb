"""Choice rules: every operator family, wrong types are false, And/Or/Not, Condition."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from yun.flows._choice import RuleError, compile_rule
from yun.flows._errors import EvaluationError
from yun.flows._templates import Env, compile_jsonata

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def holds(rule: dict[str, Any], data: Any, variables: dict[str, Any] | None = None) -> bool:
    env = Env(data, {}, variables or {}, NOW, random.Random(0), {"input": data})
    return compile_rule({**rule, "Next": "X"}, "Choices[0]", True).evaluate(env)


@pytest.mark.parametrize(
    ("operator", "operand", "value", "expected"),
    [
        ("NumericEquals", 1, 1.0, True),
        ("NumericEquals", 1, True, False),
        ("NumericEquals", 0, "0", False),
        ("NumericLessThan", 2, 1, True),
        ("NumericGreaterThanEquals", 2, 2, True),
        ("StringEquals", "a", "a", True),
        ("StringEquals", "1", 1, False),
        ("StringLessThan", "AB", "A", True),
        ("StringGreaterThanEquals", "A", "AB", True),
        ("StringMatches", "log-*.txt", "log-2024.txt", True),
        ("StringMatches", "log-\\*", "log-x", False),
        ("BooleanEquals", True, True, True),
        ("BooleanEquals", True, 1, False),
        ("TimestampEquals", "2012-10-09T19:00:55Z", "2012-10-09T20:00:55+01:00", True),
        ("TimestampLessThan", "2012-10-09T19:00:55Z", "2012-10-09T19:00:54Z", True),
        ("TimestampEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55", False),
        ("TimestampGreaterThan", "2012-10-09T19:00:55Z", 1, False),
    ],
)
def test_comparisons_hold_only_between_values_of_their_type(
    operator: str, operand: Any, value: Any, expected: bool
) -> None:
    assert holds({"Variable": "$.v", operator: operand}, {"v": value}) is expected


def test_path_variants_compare_with_the_value_at_a_second_path() -> None:
    data = {"v": 3, "w": 3.0, "s": "b", "t": "a"}
    assert holds({"Variable": "$.v", "NumericEqualsPath": "$.w"}, data)
    assert holds({"Variable": "$.s", "StringGreaterThanPath": "$.t"}, data)


def test_type_tests_and_is_present() -> None:
    data = {"n": None, "x": 1, "s": "2012-10-09T19:00:55Z"}
    assert holds({"Variable": "$.n", "IsNull": True}, data)
    assert holds({"Variable": "$.x", "IsNumeric": True}, data)
    assert holds({"Variable": "$.x", "IsString": False}, data)
    assert holds({"Variable": "$.s", "IsTimestamp": True}, data)
    assert holds({"Variable": "$.missing", "IsPresent": False}, data)
    assert holds({"Variable": "$.n", "IsPresent": True}, data)


def test_and_or_not_combine_rules() -> None:
    data = {"v": 22}
    low = {"Variable": "$.v", "NumericGreaterThanEquals": 20}
    high = {"Variable": "$.v", "NumericLessThan": 30}
    assert holds({"And": [low, high]}, data)
    assert holds({"Or": [{"Not": low}, high]}, data)
    assert not holds({"Not": {"And": [low, high]}}, data)


def test_a_variable_can_be_the_subject_of_a_rule() -> None:
    assert holds(
        {"Variable": "$guess", "StringEqualsPath": "$answer"},
        {},
        {
            "guess": "x",
            "answer": "x",
        },
    )


def test_a_missing_variable_path_is_a_runtime_error() -> None:
    with pytest.raises(EvaluationError) as caught:
        holds({"Variable": "$.missing", "NumericEquals": 1}, {})
    assert caught.value.error == "States.Runtime"


def test_a_jsonata_condition_must_be_a_boolean() -> None:
    from yun.flows._choice import Rule

    def check(text: Any, data: Any) -> bool:
        rule = Rule("Condition", condition=compile_jsonata(text, "Condition"))
        return rule.evaluate(Env(data, {}, {}, NOW, random.Random(0), {"input": data}))

    assert check("{% $states.input.v > 1 %}", {"v": 2})
    with pytest.raises(EvaluationError):
        check("{% $states.input.v %}", {"v": 2})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"Variable": "$.v"}, "needs exactly one comparison operator"),
        ({"Variable": "$.v", "NumericEquals": "1"}, "must be a number"),
        ({"Variable": "$.v", "TimestampEquals": "yesterday"}, "ISO-8601"),
        ({"NumericEquals": 1}, "needs a Variable"),
        ({"Variable": "$.v", "StringEquals": "a", "Bogus": 1}, "unknown field 'Bogus'"),
        ({"And": []}, "non-empty array"),
    ],
)
def test_malformed_rules_are_rejected_naming_the_field(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        compile_rule({**rule, "Next": "X"}, "Choices[0]", True)
