"""`yun flow ...` against a scripted server (`httpx.MockTransport`): requests and output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from yun.cli import app
from yun.sdk._client import Client

Route = Callable[[httpx.Request], httpx.Response]


class Server:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: list[tuple[str, str, Route]] = []

    def on(self, method: str, path: str, body: Any, status: int = 200) -> Server:
        self.routes.append((method, path, lambda _r: httpx.Response(status, json=body)))
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        for method, path, route in self.routes:
            if request.method == method and request.url.path == path:
                return route(request)
        return httpx.Response(404, json={"error": {"type": "NotFound", "message": "no route"}})

    def run(self, *args: str) -> Result:
        def client() -> Client:
            return Client(url="http://yun.test", api_key="k" * 32,
                          transport=httpx.MockTransport(self.handle))
        return CliRunner().invoke(app, ["flow", *args], obj=client)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Server:
    for name in ("YUN_URL", "YUN_API_KEY", "YUN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return Server()


def execution(status: str, **fields: Any) -> dict[str, Any]:
    return {"id": "orders:o1", "flow": "orders", "name": "o1", "status": status,
            "input": {}, "output": None, "error": None, "cause": None, "created": True,
            "started_at": 1.0, "stopped_at": None, "history_events": 3, "flow_version": 1,
            **fields}


def test_deploy_sends_the_file_and_says_which_version(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "orders.asl.yaml"
    path.write_text("StartAt: A\nStates: {A: {Type: Pass, End: true}}\n")
    server.on("PUT", "/v1/flows/orders", {"version": 3, "created": True}, 201)
    result = server.run("deploy", "orders", str(path))
    assert result.exit_code == 0 and result.stdout == "deployed flow orders version 3\n"
    assert server.requests[0].content == path.read_bytes()


def test_deploy_prints_each_problem_of_an_invalid_definition(
        server: Server, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{}")
    problems = ["state 'A': field 'Next': 'B' is not a state of this block", "field 'X'"]
    server.on("PUT", "/v1/flows/bad", {"error": {"type": "InvalidDefinition",
                                                 "message": "; ".join(problems),
                                                 "problems": problems}}, 400)
    result = server.run("deploy", "bad", str(path))
    assert result.exit_code == 1
    assert "  - state 'A': field 'Next'" in result.stderr and "  - field 'X'" in result.stderr


def test_start_wait_json_prints_exactly_one_object_with_the_output_as_json(
        server: Server) -> None:
    server.on("POST", "/v1/flows/orders/executions",
              execution("SUCCEEDED", output={"total": 3}), 201)
    result = server.run("start", "orders", "--data", '{"n": 1}', "--name", "o1", "--wait",
                        "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"status": "SUCCEEDED", "output": {"total": 3},
                                         "error": None, "cause": None}
    assert result.stdout.count("\n") == 1
    sent = json.loads(server.requests[0].content)
    assert sent == {"input": {"n": 1}, "name": "o1", "wait": 60.0}


def test_start_wait_polls_until_the_execution_ends(server: Server) -> None:
    server.on("POST", "/v1/flows/orders/executions", execution("RUNNING"), 201)
    server.on("GET", "/v1/executions/orders:o1",
              execution("FAILED", error="Boom", cause="it broke"))
    result = server.run("start", "orders", "--wait")
    assert result.exit_code == 1
    assert "orders:o1 FAILED: Boom" in result.stderr and "it broke" in result.stderr
    assert server.requests[1].url.params["wait"] == "60.0"


def test_start_without_wait_says_started_or_already_exists(server: Server) -> None:
    server.on("POST", "/v1/flows/orders/executions", execution("RUNNING"), 201)
    assert server.run("start", "orders").stdout == "started orders:o1\n"
    server.routes.clear()
    server.on("POST", "/v1/flows/orders/executions",
              execution("SUCCEEDED", created=False, output=1))
    assert server.run("start", "orders").stdout == "orders:o1 already exists (SUCCEEDED)\n"


def test_start_refuses_input_that_is_not_json(server: Server) -> None:
    result = server.run("start", "orders", "--data", "{nope")
    assert result.exit_code == 2 and not server.requests


def test_describe_shows_status_output_error_and_cause(server: Server) -> None:
    server.on("GET", "/v1/executions/orders:o1", execution("SUCCEEDED", output={"ok": 1}))
    result = server.run("describe", "orders:o1")
    assert result.exit_code == 0
    assert "SUCCEEDED" in result.stdout and '{"ok": 1}' in result.stdout
    as_json = server.run("describe", "orders:o1", "--json")
    assert json.loads(as_json.stdout)["output"] == {"ok": 1}


def test_history_pages_through_every_event(server: Server) -> None:
    first = [{"id": i, "type": "PassStateEntered", "timestamp": "2024-01-01T00:00:00Z",
              "stateEnteredEventDetails": {"name": f"S{i}"}} for i in range(1, 1001)]
    pages = iter([first, [{"id": 1001, "type": "ExecutionSucceeded",
                           "timestamp": "2024-01-01T00:00:01Z"}]])
    server.routes.append(("GET", "/v1/executions/orders:o1/history",
                          lambda _r: httpx.Response(200, json={"events": next(pages)})))
    result = server.run("history", "orders:o1", "--json")
    assert [e["id"] for e in json.loads(result.stdout)] == list(range(1, 1002))
    assert server.requests[1].url.params["after"] == "1000"


def test_ls_lists_flows_or_the_executions_of_one(server: Server) -> None:
    server.on("GET", "/v1/flows", {"flows": [{"name": "orders", "version": 2, "states": 5,
                                              "updated_at": 1.0}]})
    server.on("GET", "/v1/flows/orders/executions", {"executions": [execution("RUNNING")]})
    assert "orders" in server.run("ls").stdout
    listed = server.run("ls", "orders").stdout
    assert "orders:o1" in listed and "RUNNING" in listed


def test_stop_and_rm(server: Server) -> None:
    server.on("POST", "/v1/executions/orders:o1/stop", execution("ABORTED", error="Ops"))
    server.on("DELETE", "/v1/flows/orders", {}, 204)
    assert server.run("stop", "orders:o1", "--error", "Ops").stdout == "orders:o1 ABORTED\n"
    assert json.loads(server.requests[0].content) == {"error": "Ops", "cause": None}
    assert server.run("rm", "orders").stdout == "removed flow orders\n"
