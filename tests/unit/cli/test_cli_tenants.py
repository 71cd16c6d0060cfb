"""`yun tenant ...` and `yun key ...`: argument parsing, the requests sent, what is printed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import typer

from yun.cli._tenant import parse_quotas

TENANT = {"name": "acme", "uid": 100001, "created_at": 1.7e9, "disabled": False,
          "quotas": {"functions": 10, "memory_mb": 65536}, "overrides": {"functions": 10},
          "usage": {"functions": 2, "code_bytes": 300, "instances": 1, "memory_mb": 40.5}}
KEY = {"id": "a1b2c3d4e5f6", "name": "ci", "tenant": "acme", "prefix": "yun_AbCdEfGh",
       "admin": False, "created_at": 1.7e9, "expires_at": None}  # fmt: skip


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# -- quota specs ---------------------------------------------------------------------------


def test_quota_specs_become_numbers_and_default_becomes_null() -> None:
    assert parse_quotas(["functions=10", "invocations_per_second=2.5", "code_bytes=1_000_000",
                         "memory_mb=default"]) == {
        "functions": 10, "invocations_per_second": 2.5, "code_bytes": 1_000_000,
        "memory_mb": None}  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "words"),
    [("functions", "KEY=VALUE"), ("=3", "KEY=VALUE"), ("functions=", "KEY=VALUE"),
     ("functions=ten", "'ten'"), ("functions=-1", "'-1'"), ("Functions=1", "KEY=VALUE")],
)  # fmt: skip
def test_bad_quota_specs_name_the_bad_text(spec: str, words: str) -> None:
    with pytest.raises(typer.BadParameter) as caught:
        parse_quotas([spec])
    assert words in str(caught.value)


def test_a_quota_given_twice_is_refused() -> None:
    with pytest.raises(typer.BadParameter, match="twice"):
        parse_quotas(["functions=1", "functions=2"])


# -- yun tenant ----------------------------------------------------------------------------


def test_tenant_create_sends_the_name_and_quota_overrides(yun_api: Any) -> None:
    yun_api.answers(TENANT, 201)
    result = yun_api.run("tenant", "create", "acme", "--quota", "functions=10", "-q",
                         "invocations_per_second=5")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (yun_api.last.method, yun_api.last.url.path) == ("POST", "/v1/tenants")
    assert body(yun_api.last) == {"name": "acme",
                                  "quotas": {"functions": 10, "invocations_per_second": 5}}
    assert result.stdout.splitlines() == ["created tenant acme (uid 100001)",
                                          "quota overrides: functions=10"]  # fmt: skip


def test_tenant_create_refuses_default_as_a_value(yun_api: Any) -> None:
    result = yun_api.run("tenant", "create", "acme", "--quota", "functions=default")
    assert result.exit_code == 2 and yun_api.requests == []


def test_tenant_ls_shows_status_and_overrides(yun_api: Any) -> None:
    yun_api.answers({"tenants": [TENANT, {**TENANT, "name": "beta", "disabled": True,
                                          "overrides": {}}]})  # fmt: skip
    result = yun_api.run("tenant", "ls")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows[0][:3] == ["acme", "100001", "enabled"] and rows[0][-1] == "functions=10"
    assert rows[1][:3] == ["beta", "100001", "disabled"] and rows[1][-1] == "-"


def test_tenant_show_prints_usage_and_marks_overridden_quotas(yun_api: Any) -> None:
    yun_api.answers(TENANT)
    result = yun_api.run("tenant", "show", "acme")
    assert result.exit_code == 0, result.output
    assert yun_api.last.url.path == "/v1/tenants/acme"
    assert "2 functions, 300 bytes of code, 1 instances, 40.5 MiB in use" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()[-2:]]
    assert rows == [["functions", "10", "*"], ["memory_mb", "65536"]]


@pytest.mark.parametrize(("command", "disabled"), [("disable", True), ("enable", False)])
def test_disable_and_enable_patch_the_flag(yun_api: Any, command: str, disabled: bool) -> None:
    yun_api.answers({**TENANT, "disabled": disabled})
    result = yun_api.run("tenant", command, "acme")
    assert result.exit_code == 0, result.output
    assert (yun_api.last.method, yun_api.last.url.path) == ("PATCH", "/v1/tenants/acme")
    assert body(yun_api.last) == {"disabled": disabled}


def test_tenant_quota_sends_changes_and_prints_the_new_values(yun_api: Any) -> None:
    yun_api.answers({**TENANT, "quotas": {"functions": 20, "memory_mb": 65536}})
    result = yun_api.run("tenant", "quota", "acme", "functions=20", "memory_mb=default")
    assert result.exit_code == 0, result.output
    assert body(yun_api.last) == {"quotas": {"functions": 20, "memory_mb": None}}
    assert result.stdout.splitlines() == ["acme: functions = 20",
                                          "acme: memory_mb = 65536 (default)"]  # fmt: skip


def test_a_tenant_key_on_tenant_commands_gets_the_servers_403_message(yun_api: Any) -> None:
    yun_api.fails(403, "Forbidden", "this route needs an admin key")
    result = yun_api.run("tenant", "ls")
    assert result.exit_code == 1
    assert result.stderr == "error: this route needs an admin key\n"


# -- yun key -------------------------------------------------------------------------------


def test_key_create_prints_only_the_key_on_stdout(yun_api: Any) -> None:
    yun_api.answers({**KEY, "key": "yun_secret"}, 201)
    result = yun_api.run("key", "create", "--name", "ci", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert (yun_api.last.method, yun_api.last.url.path) == ("POST", "/v1/keys")
    assert yun_api.last.url.params["tenant"] == "acme"
    assert body(yun_api.last) == {"name": "ci", "admin": False}
    assert result.stdout == "yun_secret\n"
    assert "a1b2c3d4e5f6" in result.stderr and "not shown again" in result.stderr


def test_key_create_without_options_lets_the_server_choose(yun_api: Any) -> None:
    yun_api.answers({**KEY, "key": "yun_secret"}, 201)
    assert yun_api.run("key", "create").exit_code == 0
    assert "tenant" not in yun_api.last.url.params
    assert body(yun_api.last) == {"admin": False}


def test_key_ls_shows_ids_and_prefixes_never_secrets(yun_api: Any) -> None:
    yun_api.answers({"keys": [KEY, {**KEY, "id": "ffffffffffff", "name": "admin",
                                    "admin": True, "prefix": None}]})  # fmt: skip
    result = yun_api.run("key", "ls")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows[0][:4] == ["a1b2c3d4e5f6", "ci", "yun_AbCdEfGh…", "acme"]
    assert rows[1][:4] == ["ffffffffffff", "admin", "(admin)", "?…"]


def test_key_revoke_deletes_by_id(yun_api: Any) -> None:
    yun_api.handles(lambda request: httpx.Response(204))
    result = yun_api.run("key", "revoke", "a1b2c3d4e5f6")
    assert result.exit_code == 0
    assert (yun_api.last.method, yun_api.last.url.path) == ("DELETE", "/v1/keys/a1b2c3d4e5f6")
    assert result.stdout == "revoked key a1b2c3d4e5f6\n"


def test_key_rotate_sends_the_grace_in_seconds_and_prints_the_new_key(yun_api: Any) -> None:
    yun_api.answers({**KEY, "id": "000000000001", "key": "yun_new", "replaces": KEY["id"]}, 201)
    result = yun_api.run("key", "rotate", "a1b2c3d4e5f6", "--grace", "10m")
    assert result.exit_code == 0, result.output
    assert yun_api.last.url.path == "/v1/keys/a1b2c3d4e5f6/rotate"
    assert body(yun_api.last) == {"grace": 600.0}
    assert result.stdout == "yun_new\n"
    assert "keeps working for 10m" in result.stderr


def test_key_rotate_refuses_a_grace_that_is_no_duration(yun_api: Any) -> None:
    result = yun_api.run("key", "rotate", "a1b2c3d4e5f6", "--grace", "soon")
    assert result.exit_code == 2 and yun_api.requests == []
