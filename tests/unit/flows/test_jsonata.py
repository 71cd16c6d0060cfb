"""The JSONata adapter: AWS's extra functions, the injected clock, undefined and null."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from yun.flows._errors import EvaluationError
from yun.flows._jsonata import evaluate, is_expression

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def run(text: str, **bindings: Any) -> Any:
    return evaluate(text, "Output", bindings, now=NOW, rng=random.Random(3))


def test_only_a_whole_string_in_percent_braces_is_an_expression() -> None:
    assert is_expression("{% 1 %}")
    assert not is_expression(" {% 1 %} ")
    assert not is_expression("$.x")


def test_step_functions_extra_functions_exist() -> None:
    assert run("$partition([1, 2, 3], 2)") == [[1, 2], [3]]
    assert run("$range(0, 9, 3)") == [0, 3, 6, 9]
    assert run("$hash('input data', 'SHA-1')") == "aaff4a450a104cd177d28d18d74485e8cae074b7"
    assert run("$parse('{\"a\": [1, null]}')") == {"a": [1, None]}
    assert 0 <= run("$random()") < 1
    assert len(run("$uuid()")) == 36


def test_now_and_millis_read_the_step_clock() -> None:
    assert run("$now()") == "2024-05-06T07:08:09.000Z"
    assert run("$millis()") == int(NOW.timestamp() * 1000)


def test_null_survives_but_undefined_is_an_error_naming_the_field() -> None:
    assert run("$states.input.v", states={"input": {"v": None}}) is None
    with pytest.raises(EvaluationError) as caught:
        run("$doesNotExist")
    assert caught.value.error == "States.QueryEvaluationError"
    assert caught.value.message == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output' returned "
        "nothing (undefined)."
    )


def test_an_evaluation_error_carries_the_jsonata_code() -> None:
    with pytest.raises(EvaluationError) as caught:
        run("$randomSeeded(1)")
    assert caught.value.message.endswith("T1006: Attempted to invoke a non-function")


def test_a_function_result_is_an_unsupported_type() -> None:
    with pytest.raises(EvaluationError, match="unsupported result type"):
        run("function($x){$x}")


def test_eval_is_not_available_as_in_step_functions() -> None:
    with pytest.raises(EvaluationError, match="T1006"):
        run("$eval('1 + 1')")
