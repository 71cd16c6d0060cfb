"""`yun.Client`: settings discovery, error mapping and the wire format of each call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from yun.sdk._client import ApiError, Client, ClientSettings


def write_data_dir(folder: Path, endpoint: str | None = None, key: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if endpoint is not None:
        (folder / "endpoint").write_text(endpoint + "\n")
    if key is not None:
        (folder / "admin.key").write_text(key + "\n")
    return folder


# -- discovery -----------------------------------------------------------------------------


def test_defaults_apply_when_nothing_is_configured() -> None:
    settings = ClientSettings.discover(environ={})

    assert settings.url == "http://127.0.0.1:8080"
    assert settings.data_dir == Path(".yun")
    assert settings.api_key is None
    assert settings.api_key_source == "not set"


def test_files_in_the_data_dir_beat_the_defaults(tmp_path: Path) -> None:
    folder = write_data_dir(tmp_path / "d", endpoint="http://10.0.0.1:9000", key="file-key")

    settings = ClientSettings.discover(environ={"YUN_DATA_DIR": str(folder)})

    assert settings.data_dir == folder
    assert settings.data_dir_source == "$YUN_DATA_DIR"
    assert settings.url == "http://10.0.0.1:9000"
    assert settings.url_source == str(folder / "endpoint")
    assert settings.api_key == "file-key"
    assert settings.api_key_source == str(folder / "admin.key")


def test_environment_beats_the_data_dir_files(tmp_path: Path) -> None:
    folder = write_data_dir(tmp_path, endpoint="http://10.0.0.1:9000", key="file-key")
    env = {"YUN_URL": "http://env:1", "YUN_API_KEY": "env-key"}

    settings = ClientSettings.discover(data_dir=folder, environ=env)

    assert (settings.url, settings.url_source) == ("http://env:1", "$YUN_URL")
    assert (settings.api_key, settings.api_key_source) == ("env-key", "$YUN_API_KEY")


def test_arguments_beat_the_environment(tmp_path: Path) -> None:
    env = {"YUN_URL": "http://env:1", "YUN_API_KEY": "env-key", "YUN_DATA_DIR": "/env"}

    settings = ClientSettings.discover("http://arg:2/", "arg-key", tmp_path, environ=env)

    assert settings.url == "http://arg:2"
    assert settings.api_key == "arg-key"
    assert settings.data_dir == tmp_path


def test_the_default_data_dir_is_dot_yun_in_the_working_directory(tmp_path: Path) -> None:
    write_data_dir(tmp_path / ".yun", endpoint="127.0.0.1:8123", key="local-key")

    client = Client()  # the autouse fixture cleared YUN_* and moved into tmp_path

    assert client.url == "http://127.0.0.1:8123"  # a bare host:port gets a scheme
    assert client.settings.api_key == "local-key"


def test_an_empty_key_file_counts_as_no_key(tmp_path: Path) -> None:
    write_data_dir(tmp_path, key="")

    assert ClientSettings.discover(data_dir=tmp_path, environ={}).api_key is None


# -- errors --------------------------------------------------------------------------------


def test_a_json_error_body_becomes_an_api_error(yun_api: Any) -> None:
    yun_api.fails(404, "NotFound", "function 'nope' does not exist")

    with pytest.raises(ApiError) as caught:
        yun_api.client().function("nope")

    assert (caught.value.status, caught.value.type) == (404, "NotFound")
    assert caught.value.message == "function 'nope' does not exist"


def test_a_non_json_error_body_still_becomes_an_api_error(yun_api: Any) -> None:
    yun_api.handles(lambda request: httpx.Response(502, text="<html>bad gateway</html>"))

    with pytest.raises(ApiError) as caught:
        yun_api.client().functions()

    assert caught.value.status == 502
    assert "<html>bad gateway</html>" in caught.value.message


def test_connection_refused_says_how_to_fix_it() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = Client(url="http://127.0.0.1:9", transport=httpx.MockTransport(refuse))

    with pytest.raises(ApiError) as caught:
        client.functions()

    assert caught.value.status == 0
    assert caught.value.type == "Unreachable"
    assert caught.value.message == ("cannot reach Yun at http://127.0.0.1:9: is `yun up` running?")


# -- calls ---------------------------------------------------------------------------------


def test_requests_carry_the_api_key_as_a_bearer_token(yun_api: Any) -> None:
    yun_api.answers({"functions": []})

    assert yun_api.client().functions() == []
    assert yun_api.last.headers["authorization"] == "Bearer " + "k" * 32


def test_deploy_reports_progress_lines_then_returns_the_result(yun_api: Any) -> None:
    result = {"event": "result", "function": "hello", "version": 3, "created": True}
    yun_api.streams(
        {"event": "progress", "message": "installing requests"},
        {"event": "progress", "message": "Successfully installed requests-2.32"},
        result | {"message": "deployed hello version 3"},
    )
    seen: list[str] = []

    answer = yun_api.client().deploy(b"PK-zip", progress=seen.append)

    assert seen == ["installing requests", "Successfully installed requests-2.32"]
    assert answer["version"] == 3
    assert answer["created"] is True
    request = yun_api.last
    assert (request.method, request.url.path) == ("POST", "/v1/functions")
    assert request.headers["content-type"] == "application/zip"
    assert request.headers["accept"] == "application/x-ndjson"
    assert request.content == b"PK-zip"


def test_deploy_raises_the_error_event_of_the_stream(yun_api: Any) -> None:
    yun_api.streams(
        {"event": "progress", "message": "installing nosuchpkg"},
        {
            "event": "error",
            "status": 400,
            "error": {"type": "DependencyError", "message": "no matching distribution"},
        },
    )
    seen: list[str] = []

    with pytest.raises(ApiError) as caught:
        yun_api.client().deploy(b"zip", progress=seen.append)

    assert seen == ["installing nosuchpkg"]
    assert (caught.value.status, caught.value.type) == (400, "DependencyError")
    assert caught.value.message == "no matching distribution"


def test_deploy_handles_a_plain_json_error_before_streaming(yun_api: Any) -> None:
    yun_api.fails(413, "PayloadTooLarge", "bundle is 300 MiB, the limit is 250 MiB")

    with pytest.raises(ApiError) as caught:
        yun_api.client().deploy(b"zip")

    assert caught.value.status == 413


def test_deploy_fails_clearly_when_the_stream_ends_without_a_result(yun_api: Any) -> None:
    yun_api.streams({"event": "progress", "message": "building"})

    with pytest.raises(ApiError, match="ended without a result"):
        yun_api.client().deploy(b"zip")


def test_set_alias_sends_weights_with_string_keys(yun_api: Any) -> None:
    yun_api.answers({"name": "prod", "version": 2, "weights": {"3": 10}})

    yun_api.client().set_alias("hello", "prod", 2, {3: 10})

    assert yun_api.last.method == "PUT"
    assert yun_api.last.url.path == "/v1/functions/hello/aliases/prod"
    assert json.loads(yun_api.last.content) == {"version": 2, "weights": {"3": 10}}


def test_delete_accepts_an_empty_204(yun_api: Any) -> None:
    yun_api.handles(lambda request: httpx.Response(204))

    yun_api.client().delete("hello")

    assert (yun_api.last.method, yun_api.last.url.path) == ("DELETE", "/v1/functions/hello")


def test_invoke_posts_json_to_the_qualified_function(yun_api: Any) -> None:
    yun_api.answers({"hello": "ada"}, headers={"x-yun-activation-id": "a1"})

    result = yun_api.client().invoke("hello", {"name": "ada"}, qualifier="prod")

    assert yun_api.last.url.path == "/fn/hello:prod"
    assert json.loads(yun_api.last.content) == {"name": "ada"}
    assert result.json() == {"hello": "ada"}
    assert result.activation_id == "a1"
    assert result.function_error is None


def test_invoke_returns_function_errors_instead_of_raising(yun_api: Any) -> None:
    yun_api.answers(
        {"errorType": "ZeroDivisionError"},
        status=500,
        headers={"x-yun-activation-id": "a2", "x-yun-function-error": "Unhandled"},
    )

    result = yun_api.client().invoke("hello")

    assert result.status_code == 500
    assert result.function_error == "Unhandled"
    assert json.loads(yun_api.last.content) is None


def test_logs_and_activations_pass_their_filters_as_query_parameters(yun_api: Any) -> None:
    yun_api.answers({"logs": [], "activations": []})
    client = yun_api.client()

    client.logs("hello", after=7, limit=50, activation="a1")
    logs_query = dict(yun_api.last.url.params)
    client.activations("hello", limit=5)

    assert logs_query == {"function": "hello", "after": "7", "limit": "50", "activation": "a1"}
    assert yun_api.last.url.path == "/v1/activations"
    assert dict(yun_api.last.url.params) == {"function": "hello", "limit": "5"}
