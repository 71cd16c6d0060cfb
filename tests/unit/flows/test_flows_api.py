"""`/v1/flows` and `/v1/executions` in-process: a real SQLite store and runner, fake
functions, no node."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from yun.api import Deployer, create_api
from yun.core import NotFound, Status
from yun.flows import FakeWallClock, Runner
from yun.gateway import KeyCache, QuotaBook
from yun.storage import CodeStore, LayerStore
from yun.store import Store

YAML = """
StartAt: Double
States:
  Double:
    Type: Task
    Resource: double
    Next: Nap
  Nap: {Type: Wait, Seconds: 3600, End: true}
"""
QUICK = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "double", "End": True}}}


@dataclass
class Outcome:
    status: Status
    body: bytes
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None


@dataclass
class Invoked:
    outcome: Outcome


class Double:
    async def invoke(self, tenant: str, target: str, body: bytes,
                     request_id: str | None = None) -> Invoked:
        if target != "double":
            raise NotFound(f"function '{target}' does not exist")
        value = json.loads(body)
        return Invoked(Outcome(Status.SUCCESS, json.dumps(value * 2).encode()))


@dataclass
class Env:
    app: Any
    store: Store
    admin: str
    clock: FakeWallClock

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {key or self.admin}"} if key != "" else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://yun.test", headers=headers)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}")
    quotas = QuotaBook()
    keys = KeyCache(store, quotas=quotas)
    keys.remember_tenants(await store.list_tenants())
    admin = (await store.create_api_key("default", "admin", admin=True)).plaintext
    deployer = Deployer(store, CodeStore(tmp_path / "code"), LayerStore(tmp_path / "layers"),
                        tmp_path / "staging", lambda _t, _v: None, quotas=quotas)
    clock = FakeWallClock()
    runner = Runner(store, Double(), clock=clock)
    ready = asyncio.Event()
    task = asyncio.create_task(runner.run(ready.set))
    await ready.wait()
    app = create_api(store, keys, deployer, lambda _t, _n: None, lambda _t, _n: None,
                     lambda _t: [], quotas=quotas, flows=runner)
    try:
        yield Env(app, store, admin, clock)
    finally:
        runner.stop()
        await task
        await store.close()


async def test_a_yaml_definition_deploys_and_an_unchanged_one_keeps_its_version(
        env: Env) -> None:
    async with env.client() as http:
        first = await http.put("/v1/flows/twice", content=YAML)
        again = await http.post("/v1/flows/twice", content=YAML)
        assert (first.status_code, first.json()["version"], first.json()["created"]) == (
            201, 1, True)
        assert (again.status_code, again.json()["created"]) == (200, False)
        changed = await http.put("/v1/flows/twice", json=QUICK)
        assert changed.json()["version"] == 2
        listed = (await http.get("/v1/flows")).json()["flows"]
        assert [(f["name"], f["version"], f["states"]) for f in listed] == [("twice", 2, 1)]
        assert (await http.get("/v1/flows/twice")).json()["definition"] == QUICK
        old = (await http.get("/v1/flows/twice", params={"version": 1})).json()
        assert old["definition"]["States"]["Nap"]["Seconds"] == 3600


async def test_an_invalid_definition_is_400_listing_each_problem(env: Env) -> None:
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Gone"},
                                      "B": {"Type": "Pass", "End": True}}}
    async with env.client() as http:
        answer = await http.put("/v1/flows/bad", json=bad)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["type"] == "InvalidDefinition"
        assert any("state 'A': field 'Next'" in p for p in error["problems"])
        assert any("'B'" in p and "unreachable" in p for p in error["problems"])
        assert (await http.put("/v1/flows/x", content="StartAt: [")).status_code == 400
        named = await http.put("/v1/flows/Bad_Name", json=QUICK)
        assert named.status_code == 400 and "flow name" in named.json()["error"]["message"]


async def test_start_with_wait_answers_with_the_output(env: Env) -> None:
    async with env.client() as http:
        await http.put("/v1/flows/quick", json=QUICK)
        made = await http.post("/v1/flows/quick/executions",
                               json={"input": 21, "name": "a", "wait": 5})
        assert made.status_code == 201
        body = made.json()
        assert (body["id"], body["status"], body["output"], body["created"]) == (
            "quick:a", "SUCCEEDED", 42, True)
        again = await http.post("/v1/flows/quick/executions", json={"input": 21, "name": "a"})
        assert (again.status_code, again.json()["created"]) == (200, False)
        clash = await http.post("/v1/flows/quick/executions", json={"input": 1, "name": "a"})
        assert clash.status_code == 409
        unnamed = await http.post("/v1/flows/quick/executions")
        assert unnamed.status_code == 201 and len(unnamed.json()["name"]) == 32


async def test_describe_history_and_stop_an_execution(env: Env) -> None:
    async with env.client() as http:
        await http.put("/v1/flows/twice", content=YAML)
        made = await http.post("/v1/flows/twice/executions", json={"input": 2, "name": "s"})
        assert made.json()["status"] == "RUNNING"
        described = await http.get("/v1/executions/twice:s", params={"wait": 0.05})
        assert described.json()["status"] == "RUNNING"
        events = (await http.get("/v1/executions/twice:s/history")).json()["events"]
        assert events[0]["type"] == "ExecutionStarted"
        assert events[-1]["type"] == "WaitStateEntered"
        later = (await http.get("/v1/executions/twice:s/history",
                                params={"after": len(events) - 1})).json()["events"]
        assert [e["id"] for e in later] == [len(events)]
        busy = await http.delete("/v1/flows/twice")
        assert busy.status_code == 409 and "'s'" in busy.json()["error"]["message"]
        stopped = await http.post("/v1/executions/twice:s/stop", json={"error": "Stop.Now"})
        assert (stopped.json()["status"], stopped.json()["error"]) == ("ABORTED", "Stop.Now")
        listed = (await http.get("/v1/flows/twice/executions")).json()["executions"]
        assert [(e["id"], e["status"]) for e in listed] == [("twice:s", "ABORTED")]
        assert (await http.delete("/v1/flows/twice")).status_code == 204
        assert (await http.get("/v1/executions/twice:s")).status_code == 404


async def test_another_tenant_gets_the_answers_a_missing_thing_gets(env: Env) -> None:
    await env.store.create_tenant("acme")
    other = (await env.store.create_api_key("acme", "k", admin=False)).plaintext
    async with env.client() as http:
        await http.put("/v1/flows/twice", content=YAML)
        await http.post("/v1/flows/twice/executions", json={"input": 1, "name": "mine"})
    async with env.client(other) as http:
        for method, real, twin in [
            ("GET", "/v1/flows/twice", "/v1/flows/nope"),
            ("GET", "/v1/flows/twice/executions", "/v1/flows/nope/executions"),
            ("DELETE", "/v1/flows/twice", "/v1/flows/nope"),
            ("POST", "/v1/flows/twice/executions", "/v1/flows/nope/executions"),
            ("GET", "/v1/executions/twice:mine", "/v1/executions/nope:mine"),
            ("GET", "/v1/executions/twice:mine/history", "/v1/executions/nope:mine/history"),
            ("POST", "/v1/executions/twice:mine/stop", "/v1/executions/nope:mine/stop"),
        ]:
            a = await http.request(method, real)
            b = await http.request(method, twin)
            assert a.status_code == b.status_code == 404, (method, real, a.text)
            assert a.text.replace("twice", "X") == b.text.replace("nope", "X")
        assert (await http.get("/v1/flows")).json() == {"flows": []}
        assert (await http.get("/v1/executions/no-colon")).status_code == 404


async def test_every_flow_route_needs_a_key(env: Env) -> None:
    async with env.client("") as http:
        for method, path in [("GET", "/v1/flows"), ("PUT", "/v1/flows/x"),
                             ("POST", "/v1/flows/x/executions"), ("GET", "/v1/executions/x:y")]:
            assert (await http.request(method, path)).status_code == 401
