"""The States.* intrinsic functions: parsing, and results as AWS gives them."""

from __future__ import annotations

import random

import pytest

from yun.flows._errors import EvaluationError
from yun.flows._intrinsics import IntrinsicSyntaxError, parse_intrinsic
from yun.flows._jsonpath import JsonPath

INPUT = {"s": "a,b,,c", "list": [1, 2, 2, 3], "obj": {"x": 1}, "n": None}


def run(text: str, data: object = INPUT) -> object:
    def lookup(path: JsonPath) -> object:
        return path.find(data)

    return parse_intrinsic(text).evaluate(lookup, random.Random(7))


def test_format_fills_placeholders_printing_values_as_java_does() -> None:
    assert run("States.Format('x={} y={}', $.s, 2)") == "x=a,b,,c y=2"
    assert run("States.Format('{} {} {}', $.n, $.obj, $.list)") == "null {x=1} [1, 2, 2, 3]"
    assert run("States.Format('{}', 1.1)") == "1.1"
    assert run("States.Format('it\\'s {}', true)") == "it's true"


def test_escaped_braces_in_a_format_template_are_literal_not_placeholders() -> None:
    assert run(r"States.Format('\{\} {}', 1)") == "{} 1"


def test_format_with_the_wrong_number_of_arguments_is_an_intrinsic_failure() -> None:
    with pytest.raises(EvaluationError) as caught:
        run("States.Format('{} {}', 1)")
    assert caught.value.error == "States.IntrinsicFailure"


def test_json_round_trips_and_blank_strings_parse_to_null() -> None:
    assert run("States.JsonToString($.obj)") == '{"x":1}'
    assert run("States.StringToJson('[1, \"a\"]')") == [1, "a"]
    assert run("States.StringToJson(' ')") is None


def test_array_functions() -> None:
    assert run("States.Array(1, 'a', $.n)") == [1, "a", None]
    assert run("States.ArrayPartition($.list, 3)") == [[1, 2, 2], [3]]
    assert run("States.ArrayContains($.list, 3)") is True
    assert run("States.ArrayContains(States.Array(true), 1)") is False
    assert run("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]
    assert run("States.ArrayGetItem($.list, 3)") == 3
    assert run("States.ArrayLength($.list)") == 4
    assert run("States.ArrayUnique($.list)") == [1, 2, 3]


def test_math_add_rounds_each_argument_half_up_as_java_does() -> None:
    assert run("States.MathAdd(-1.49, -1.5)") == -2
    assert run("States.MathAdd(2.5, 0)") == 3
    assert run("States.MathAdd(-2.5, 0)") == -2


def test_math_random_stays_in_range_and_a_seed_repeats_it() -> None:
    value = run("States.MathRandom(1, 10)")
    assert isinstance(value, int) and 1 <= value <= 10
    assert run("States.MathRandom(0, 999, 3)") == run("States.MathRandom(0, 999, 3)")


def test_string_split_splits_on_each_delimiter_character_and_drops_empty_parts() -> None:
    assert run("States.StringSplit($.s, ',')") == ["a", "b", "c"]
    assert run("States.StringSplit('a.b+c', '.+')") == ["a", "b", "c"]


def test_encoding_hashing_merging_and_uuids() -> None:
    assert run("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU="
    assert run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode"
    assert run("States.Hash('input data', 'MD5')") == "812f45842bc6d66ee14572ce20db8e86"
    assert run("States.JsonMerge($.obj, States.StringToJson('{\"y\":2}'), false)") == {
        "x": 1,
        "y": 2,
    }
    uuid = run("States.UUID()")
    assert isinstance(uuid, str) and len(uuid) == 36 and uuid[14] == "4"


def test_nested_calls_evaluate_inside_out() -> None:
    text = "States.ArrayGetItem(States.StringSplit('a-b-c', '-'), States.MathAdd(1, 1))"
    assert run(text) == "c"


@pytest.mark.parametrize(
    "text",
    [
        "States.Nope(1)",
        "States.Format(",
        "States.ArrayLength()",
        "States.UUID(1)",
        "States.Array(1 2)",
        "States.Format('x)",
    ],
)
def test_malformed_calls_are_rejected_when_parsed(text: str) -> None:
    with pytest.raises(IntrinsicSyntaxError):
        parse_intrinsic(text)


def test_a_wrongly_typed_argument_is_an_intrinsic_failure() -> None:
    with pytest.raises(EvaluationError) as caught:
        run("States.ArrayLength($.s)")
    assert caught.value.error == "States.IntrinsicFailure"
    assert "must be of type array" in caught.value.message
