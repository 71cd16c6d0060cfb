"""Triggers against a real `yun up`: HTTP routes (params, auth, CORS, CloudEvents input,
clashes), webhooks (signature, async result), MQTT and NATS into the async path, listing."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import nats
import pytest
from yun_harness import Yun

from yun.events._webhook import sign

ECHO = """\
import json

def handle(event, context):
    print("event", json.dumps(event, sort_keys=True))
    if "method" in event:
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps({"params": event["params"], "query": event["query"],
                                    "method": event["method"], "body": event["body"],
                                    "cloudevent": event.get("cloudevent")})}
    return {"seen": event.get("type")}
"""
SECRET = "0123456789abcdef-webhook"


def make(tmp_path: Path, name: str, triggers: str, env: str = "{}") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "main.py").write_text(ECHO)
    (folder / "yun.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        handler: main:handle
        timeout: 5s
        env: {env}
        triggers:
        """) + textwrap.indent(textwrap.dedent(triggers), "  "))
    return folder


def events_logged(http: httpx.Client, function: str, expect: int,
                  timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(entry["line"].split(" ", 1)[1]) for entry in
                 http.get("/v1/logs", params={"function": function}).json()["logs"]
                 if entry["line"].startswith("event ")]
        if len(lines) >= expect or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_an_http_route_passes_params_query_and_body_and_maps_the_response(
        yun: Yun, tmp_path: Path) -> None:
    yun.deploy(make(tmp_path, "users", """\
        - http: {path: "/users/{id}", methods: [GET, POST], auth: public,
                 cors: {origins: ["https://app.example"]}}
        - http: {path: "/private", methods: [GET]}
        """))
    with httpx.Client(base_url=yun.url, timeout=30) as anon:
        got = anon.get("/r/default/users/42", params={"v": "1"})
        assert got.status_code == 200, got.text
        assert got.json() == {"params": {"id": "42"}, "query": {"v": "1"}, "method": "GET",
                              "body": None, "cloudevent": None}
        posted = anon.post("/r/default/users/7", content=b"hello")
        assert posted.json()["body"] == "hello"
        assert anon.delete("/r/default/users/7").status_code == 405
        assert anon.get("/r/default/nothing").status_code == 404
        assert anon.get("/r/nobody/users/42").status_code == 404
        assert anon.get("/r/default/private").status_code == 401
        preflight = anon.options("/r/default/users/1", headers={
            "origin": "https://app.example", "access-control-request-method": "POST"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        cross = anon.get("/r/default/users/1", headers={"origin": "https://app.example"})
        assert cross.headers["access-control-allow-origin"] == "https://app.example"
        binary_ce = anon.post("/r/default/users/9", content=b'{"n": 1}', headers={
            "ce-specversion": "1.0", "ce-id": "e1", "ce-source": "/test", "ce-type": "t.x",
            "content-type": "application/json"})
        assert binary_ce.json()["cloudevent"]["data"] == {"n": 1}
    with yun.http() as http:
        assert http.get("/r/default/private").status_code == 200


def test_two_functions_claiming_one_route_is_a_deploy_error_naming_both(
        yun: Yun, tmp_path: Path) -> None:
    yun.deploy(make(tmp_path, "first", '- http: {path: "/orders/{id}", methods: [GET]}\n'))
    refused = yun.cli("deploy", str(make(tmp_path, "second",
                                         '- http: {path: "/orders/{n}", methods: [GET]}\n')))
    assert refused.returncode == 1
    assert ("route GET /orders/{n} of function 'second' clashes with GET /orders/{id} of "
            "function 'first'") in refused.stderr.replace("\n", " ")


def test_a_signed_webhook_runs_the_function_and_a_bad_signature_is_refused(
        yun: Yun, tmp_path: Path) -> None:
    yun.deploy(make(tmp_path, "hooked", "- webhook: {secret_env: HOOK_SECRET}\n",
                    env=f"{{HOOK_SECRET: {SECRET}}}"))
    with yun.http() as http:
        (listed,) = http.get("/v1/triggers", params={"function": "hooked"}).json()["triggers"]
        url = listed["url"]
        assert listed["kind"] == "webhook" and "/hook/" in url
        body = b'{"action": "opened"}'
        bad = httpx.post(url, content=body, headers={"x-hub-signature-256": "sha256=00"})
        assert bad.status_code == 401 and "signature" in bad.json()["error"]["message"]
        ok = httpx.post(url, content=body, headers={
            "x-hub-signature-256": sign(SECRET, body), "x-github-delivery": "d-1",
            "x-github-event": "issues", "content-type": "application/json"})
        assert ok.status_code == 202, ok.text
        invocation = ok.json()["id"]
        again = httpx.post(url, content=body, headers={
            "x-hub-signature-256": sign(SECRET, body), "x-github-delivery": "d-1"})
        assert again.json()["id"] == invocation  # the same delivery is not run twice
        deadline = time.monotonic() + 20
        while (status := http.get(f"/v1/invocations/{invocation}").json())["status"] not in (
                "succeeded", "dead"):
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        assert status["result"] == {"seen": "yun.webhook.delivery"}
        (event,) = events_logged(http, "hooked", 1)
        assert event["data"]["body"] == {"action": "opened"}
        assert event["data"]["headers"]["x-github-event"] == "issues"
    assert httpx.post(f"{yun.url}/hook/not-a-hook", content=b"{}").status_code == 404


def test_mqtt_and_nats_messages_reach_their_functions_as_cloudevents(
        yun: Yun, tmp_path: Path) -> None:
    topic = f"yun-it/{uuid.uuid4().hex[:10]}"
    subject = f"yun.it.{uuid.uuid4().hex[:10]}"
    yun.deploy(make(tmp_path, "devices", f"""\
        - mqtt: {{broker: "mqtt://127.0.0.1:1883", topic: "{topic}/+/telemetry", qos: 1}}
        """))
    yun.deploy(make(tmp_path, "orders", f"""\
        - nats: {{url: "nats://127.0.0.1:4222", subject: "{subject}"}}
        """))
    time.sleep(1.0)  # the manager connects and subscribes

    async def publish() -> None:
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            await client.publish(f"{topic}/dev-9/telemetry", b'{"celsius": 21}', qos=1)
        nc = await nats.connect("nats://127.0.0.1:4222")
        await nc.publish(subject, b'{"order": 5}')
        await nc.flush()
        await nc.close()

    asyncio.run(publish())
    with yun.http() as http:
        (mqtt_event,) = events_logged(http, "devices", 1)
        (nats_event,) = events_logged(http, "orders", 1)
        listed = http.get("/v1/triggers").json()["triggers"]
    assert mqtt_event["specversion"] == "1.0" and mqtt_event["type"] == "yun.mqtt.message"
    assert mqtt_event["data"]["device"] == "dev-9"
    assert mqtt_event["data"]["payload"] == {"celsius": 21}
    assert nats_event["data"]["payload"] == {"order": 5}
    assert sorted((t["function"], t["kind"]) for t in listed) == [
        ("devices", "mqtt"), ("orders", "nats")]
    shown = yun.cli("trigger", "ls")
    assert shown.returncode == 0 and "mqtt" in shown.stdout and "nats" in shown.stdout


def test_another_tenants_key_gets_404_on_a_keyed_route_and_its_listing(
        yun: Yun, tmp_path: Path) -> None:
    yun.deploy(make(tmp_path, "secret", '- http: {path: "/books/{id}", methods: [GET]}\n'))
    assert yun.cli("tenant", "create", "other-corp").returncode == 0
    made = yun.cli("key", "create", "--tenant", "other-corp", "--name", "main")
    other = {"Authorization": f"Bearer {made.stdout.strip()}"}
    with httpx.Client(base_url=yun.url, timeout=30, headers=other) as http:
        refused = http.get("/r/default/books/1")
        missing = http.get("/r/default/nothing/here")
        assert refused.status_code == missing.status_code == 404
        assert refused.json()["error"]["message"] == "no route GET /books/1"
        assert http.get("/v1/triggers").json()["triggers"] == []
        assert http.get("/v1/triggers", params={"function": "secret"}).status_code == 404


@pytest.mark.soak
def test_a_cron_trigger_fires_each_minute_once_across_a_restart(yun: Yun, tmp_path: Path) -> None:
    """Real time: about three minutes. The fast version of this is tests/reliability."""
    yun.deploy(make(tmp_path, "ticker", '- cron: "* * * * *"\n'))
    with yun.http() as http:
        (first,) = events_logged(http, "ticker", 1, timeout=75)
    yun.stop()
    yun.start()
    with yun.http() as http:
        events = events_logged(http, "ticker", 2, timeout=75)
    times = [e["data"]["scheduled_time"] for e in events]
    assert first["type"] == "yun.cron.tick" and len(times) == len(set(times)) >= 2


def test_triggers_are_added_and_removed_through_the_cli_as_new_versions(
        yun: Yun, tmp_path: Path) -> None:
    subject = f"yun.it.{uuid.uuid4().hex[:10]}"
    yun.deploy(make(tmp_path, "managed", """\
        - http: {path: "/managed", methods: [GET], auth: public}
        """))
    added = yun.cli("trigger", "add", "managed",
                    f'{{nats: {{url: "nats://127.0.0.1:4222", subject: "{subject}"}}}}')
    assert added.returncode == 0, added.stderr
    assert "managed version 2: trigger #1 added" in added.stdout
    time.sleep(1.0)  # the manager subscribes

    async def publish() -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        await nc.publish(subject, b'{"added": true}')
        await nc.flush()
        await nc.close()

    asyncio.run(publish())
    with yun.http() as http:
        (event,) = events_logged(http, "managed", 1)
        assert event["data"]["payload"] == {"added": True}
        listed = http.get("/v1/triggers", params={"function": "managed"}).json()["triggers"]
        assert [(t["index"], t["kind"]) for t in listed] == [(0, "http"), (1, "nats")]
        # A bad trigger is refused with the field named, and stores nothing.
        bad = http.post("/v1/functions/managed/triggers", json={"cron": "every day"})
        assert bad.status_code == 400 and "cron" in bad.json()["error"]["message"]
        out_of_range = http.delete("/v1/functions/managed/triggers/7")
        assert out_of_range.status_code == 400
        assert "0..1" in out_of_range.json()["error"]["message"]
        versions = http.get("/v1/functions/managed/versions").json()["versions"]
        assert [v["number"] for v in versions] == [1, 2]
    removed = yun.cli("trigger", "rm", "managed", "0")
    assert removed.returncode == 0, removed.stderr
    with yun.http() as http:
        listed = http.get("/v1/triggers", params={"function": "managed"}).json()["triggers"]
        assert [t["kind"] for t in listed] == ["nats"]
        assert http.get("/r/default/managed").status_code == 404  # its route is gone
        missing = http.post("/v1/functions/nothing/triggers", json={"cron": "@hourly"})
    assert missing.status_code == 404
