"""`yun ls`, `versions`, `rm` and `alias ...`: tables, messages, and local weight checks."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import typer

from yun.cli._alias import parse_weights


def test_ls_shows_one_row_per_function(yun_api: Any) -> None:
    yun_api.answers(
        {
            "functions": [
                {
                    "name": "hello",
                    "latest_version": 3,
                    "memory": 256,
                    "created_at": 1.7e9,
                    "updated_at": "2024-05-01T12:00:00+00:00",
                }
            ]
        }
    )

    result = yun_api.run("ls")

    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["name", "latest", "version", "memory", "updated"]
    assert row.split()[:4] == ["hello", "3", "256", "MiB"]


def test_versions_shows_short_hashes_and_manifest_fields(yun_api: Any) -> None:
    yun_api.answers(
        {
            "versions": [
                {
                    "number": 1,
                    "code_hash": "a" * 64,
                    "layer_hash": None,
                    "created_at": 1.7e9,
                    "manifest": {"handler": "main:handle", "memory": 128, "timeout": 3.0},
                }
            ]
        }
    )

    result = yun_api.run("versions", "hello")

    assert result.exit_code == 0, result.output
    assert yun_api.last.url.path == "/v1/functions/hello/versions"
    row = result.stdout.splitlines()[1]
    assert "a" * 12 in row and "a" * 13 not in row
    assert "main:handle" in row and "128 MiB" in row and "3 s" in row


def test_rm_deletes_the_function(yun_api: Any) -> None:
    yun_api.handles(lambda request: httpx.Response(204))

    result = yun_api.run("rm", "hello")

    assert result.exit_code == 0
    assert (yun_api.last.method, yun_api.last.url.path) == ("DELETE", "/v1/functions/hello")
    assert result.stdout == "removed hello\n"


def test_an_api_error_is_one_red_line_on_stderr_and_exit_1(yun_api: Any) -> None:
    yun_api.fails(401, "Unauthorized", "unknown API key")

    result = yun_api.run("ls")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: unknown API key\n"


def test_alias_set_sends_the_version_and_weights(yun_api: Any) -> None:
    yun_api.answers({"name": "prod", "version": 2, "weights": {"3": 10}})

    result = yun_api.run("alias", "set", "hello", "prod", "2", "--weight", "3=10")

    assert result.exit_code == 0, result.output
    assert json.loads(yun_api.last.content) == {"version": 2, "weights": {"3": 10}}
    assert result.stdout == "hello:prod → version 2 (version 3: 10%)\n"


def test_alias_ls_and_rm(yun_api: Any) -> None:
    yun_api.answers({"aliases": [{"name": "prod", "version": 2, "weights": {"3": 10}}]})
    listed = yun_api.run("alias", "ls", "hello")
    yun_api.handles(lambda request: httpx.Response(204))
    removed = yun_api.run("alias", "rm", "hello", "prod")

    assert listed.stdout.splitlines()[1].split() == ["prod", "2", "version", "3:", "10%"]
    assert removed.stdout == "removed alias hello:prod\n"
    assert yun_api.last.url.path == "/v1/functions/hello/aliases/prod"


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["3"], "must be VERSION=PERCENT, e.g. 3=10, was: '3'"),
        (["three=10"], "was: 'three=10'"),
        (["3=ten"], "was: '3=ten'"),
        (["3=150"], "percent must be 0..100, was: 150"),
        (["0=10"], "version must be 1 or more, was: 0"),
        (["2=10"], "version 2 is the alias target"),
        (["3=10", "3=20"], "version 3 is given twice"),
        (["3=60", "4=50"], "must add up to 100 or less, was: 110"),
    ],
)
def test_bad_weights_are_refused_with_the_bad_text(specs: list[str], message: str) -> None:
    with pytest.raises(typer.BadParameter, match=re.escape(message)):
        parse_weights(specs, target=2)


def test_good_weights_parse_to_version_percent_pairs() -> None:
    assert parse_weights(["3=10", "4=5"], target=2) == {3: 10, 4: 5}


def test_a_bad_weight_on_the_command_line_is_a_usage_error(yun_api: Any) -> None:
    result = yun_api.run("alias", "set", "hello", "prod", "2", "--weight", "3:10")

    assert result.exit_code == 2
    assert "VERSION=PERCENT" in result.stderr
    assert yun_api.requests == []
