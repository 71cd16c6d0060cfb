"""JSONPath as ASL uses it: three roots, definite and indefinite paths, ResultPath writes."""

from __future__ import annotations

import pytest

from yun.flows._jsonpath import PathNotFound, PathSyntaxError, parse_path

DATA = {
    "a": {"b": [10, 20, 30]},
    "users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}],
    "dash-key": "d",
    'Test\\""Name"': "quoted",
}


def find(path: str, data: object = DATA) -> object:
    return parse_path(path).find(data, {"Execution": {"Name": "run-1"}}, _variables)


def _variables(name: str) -> object:
    if name == "answer":
        return {"value": 42}
    raise PathNotFound(name)


def test_a_definite_path_yields_the_value_it_names() -> None:
    assert find("$.a.b[1]") == 20
    assert find("$['a']['b'][-1]") == 30
    assert find("$.dash-key") == "d"
    assert find("$") == DATA


def test_a_definite_path_to_nothing_raises_path_not_found() -> None:
    with pytest.raises(PathNotFound):
        find("$.a.c")
    with pytest.raises(PathNotFound):
        find("$.a.b[3]")


def test_an_indefinite_path_yields_every_match_and_an_empty_list_for_none() -> None:
    assert find("$.a.b[*]") == [10, 20, 30]
    assert find("$.a.b[1:]") == [20, 30]
    assert find("$.a.b[:1]") == [10]
    assert find("$.a.b[0,2]") == [10, 30]
    assert find("$.missing[*]") == []
    assert find("$.missing[1:5].value") == []


def test_a_filter_keeps_the_items_whose_comparison_holds() -> None:
    assert find("$.users[?(@.status == 0)]") == [{"year": 1997, "status": 0}]
    assert find("$.users[?(@.year > 1997)].status") == [1]
    assert find("$.users[?(@.year >= 1997 && @.status != 0)].year") == [1998]


def test_recursive_descent_finds_a_name_at_any_depth() -> None:
    assert find("$..status") == [0, 1]


def test_double_dollar_reads_the_context_object() -> None:
    assert find("$$.Execution.Name") == "run-1"


def test_dollar_name_reads_a_variable_and_its_members() -> None:
    assert find("$answer.value") == 42
    with pytest.raises(PathNotFound):
        find("$noSuchVariable")


def test_a_single_quoted_name_keeps_backslashes_that_do_not_escape_its_quote() -> None:
    assert find('$[\'Test\\""Name"\']') == "quoted"


@pytest.mark.parametrize("text", ["a.b", "$.a[", "$.a[x]", "$.", "$.a[1:2:0]", "$.a. b"])
def test_malformed_paths_are_rejected(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(text)


def test_put_stores_the_value_and_creates_missing_objects_without_changing_the_input() -> None:
    data = {"a": {"keep": 1}}
    assert parse_path("$.a.b.c").put(data, 5) == {"a": {"keep": 1, "b": {"c": 5}}}
    assert data == {"a": {"keep": 1}}
    assert parse_path("$").put(data, 5) == 5
    assert parse_path("$.list[1]").put({"list": [0, 0]}, 9) == {"list": [0, 9]}


def test_put_through_a_non_object_raises_path_not_found() -> None:
    with pytest.raises(PathNotFound):
        parse_path("$.a.b").put({"a": 3}, 1)
    with pytest.raises(PathNotFound):
        parse_path("$.a").put([1, 2], 1)
