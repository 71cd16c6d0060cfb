"""`yun invoke`: the event is checked locally, the answer printed, function errors exit 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx


def test_invoke_prints_a_json_answer_pretty(yun_api: Any) -> None:
    yun_api.answers({"hello": "ada"}, headers={"x-yun-activation-id": "a1"})

    result = yun_api.run("invoke", "hello", "--data", '{"name": "ada"}')

    assert result.exit_code == 0, result.output
    assert result.stdout == '{\n  "hello": "ada"\n}\n'
    assert yun_api.last.url.path == "/fn/hello"
    assert json.loads(yun_api.last.content) == {"name": "ada"}


def test_invoke_without_data_sends_an_empty_object(yun_api: Any) -> None:
    yun_api.answers("ok")

    yun_api.run("invoke", "hello")

    assert json.loads(yun_api.last.content) == {}


def test_invoke_prints_a_non_json_answer_as_it_is(yun_api: Any) -> None:
    yun_api.handles(lambda request: httpx.Response(200, text="plain <b>text</b>"))

    result = yun_api.run("invoke", "hello")

    assert result.stdout == "plain <b>text</b>\n"


def test_an_alias_or_version_after_the_colon_is_the_qualifier(yun_api: Any) -> None:
    yun_api.answers(1)

    yun_api.run("invoke", "hello:prod")
    alias_path = yun_api.last.url.path
    yun_api.run("invoke", "hello:3")

    assert alias_path == "/fn/hello:prod"
    assert yun_api.last.url.path == "/fn/hello:3"


def test_the_event_can_come_from_a_file_or_stdin(yun_api: Any, tmp_path: Path) -> None:
    yun_api.answers(1)
    (tmp_path / "event.json").write_text('{"from": "file"}')

    yun_api.run("invoke", "hello", "--data-file", "event.json")
    from_file = json.loads(yun_api.last.content)
    yun_api.run("invoke", "hello", "--data-file", "-", input='{"from": "stdin"}')

    assert from_file == {"from": "file"}
    assert json.loads(yun_api.last.content) == {"from": "stdin"}


def test_invalid_json_is_a_usage_error_that_names_the_text(yun_api: Any) -> None:
    result = yun_api.run("invoke", "hello", "--data", "{name: ada}")

    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr
    assert "{name: ada}" in result.stderr
    assert yun_api.requests == []


def test_data_and_data_file_together_are_a_usage_error(yun_api: Any) -> None:
    result = yun_api.run("invoke", "hello", "--data", "1", "--data-file", "-")

    assert result.exit_code == 2
    assert yun_api.requests == []


def test_an_empty_qualifier_is_a_usage_error(yun_api: Any) -> None:
    result = yun_api.run("invoke", "hello:")

    assert result.exit_code == 2
    assert "'hello:'" in result.stderr


def test_a_function_error_goes_to_stderr_with_its_activation_and_exits_1(yun_api: Any) -> None:
    yun_api.answers(
        {"errorType": "ZeroDivisionError", "errorMessage": "division by zero"},
        status=500,
        headers={"x-yun-activation-id": "act-7", "x-yun-function-error": "Unhandled"},
    )

    result = yun_api.run("invoke", "hello")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert '"errorType": "ZeroDivisionError"' in result.stderr
    assert result.stderr.endswith("activation act-7: Unhandled\n")


def test_a_platform_error_prints_its_message_and_exits_1(yun_api: Any) -> None:
    yun_api.fails(404, "NotFound", "function 'nope' does not exist")

    result = yun_api.run("invoke", "nope")

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: function 'nope' does not exist"
