"""The `triggers:` list of a manifest: parsed, checked with located errors, stored and read back."""

from __future__ import annotations

import json
import textwrap

import pytest

from yun.core import ManifestError
from yun.core.manifest import load_manifest, manifest_from_dict, manifest_to_dict
from yun.core.types import (
    Batch,
    Cors,
    CronTrigger,
    HttpTrigger,
    MqttTrigger,
    NatsTrigger,
    RouteAuth,
    WebhookTrigger,
)

ALL = """\
name: hello
handler: main:handle
env: {HOOK_SECRET: 0123456789abcdef}
triggers:
  - http: {path: "/users/{id}", methods: [get], auth: public, cors: {origins: ["*"]}}
  - cron: "*/5 * * * *"
  - cron: {schedule: "rate(5 minutes)", timezone: Europe/Paris}
  - mqtt: {broker: "mqtt://127.0.0.1:1883", topic: "devices/+/telemetry", qos: 1,
           batch: {size: 100, window: 500ms}}
  - nats: {url: "nats://127.0.0.1:4222", subject: orders.created}
  - nats: {url: "nats://127.0.0.1:4222", subject: "orders.>", stream: ORDERS, consumer: c1}
  - webhook: {secret_env: HOOK_SECRET}
"""


def error_of(triggers: str) -> str:
    text = "name: hello\nhandler: main:handle\nenv: {S: 0123456789abcdef}\ntriggers:\n"
    with pytest.raises(ManifestError) as info:
        load_manifest(text + textwrap.dedent(triggers))
    return str(info.value)


def test_every_kind_parses_into_its_type() -> None:
    assert load_manifest(ALL).triggers == (
        HttpTrigger("/users/{id}", ("GET",), RouteAuth.PUBLIC, Cors(origins=("*",))),
        CronTrigger("*/5 * * * *"),
        CronTrigger("rate(5 minutes)", "Europe/Paris"),
        MqttTrigger("mqtt://127.0.0.1:1883", "devices/+/telemetry", 1, Batch(100, 0.5)),
        NatsTrigger("nats://127.0.0.1:4222", "orders.created"),
        NatsTrigger("nats://127.0.0.1:4222", "orders.>", "ORDERS", "c1"),
        WebhookTrigger("HOOK_SECRET"),
    )


def test_http_defaults_to_any_method_and_key_auth() -> None:
    m = load_manifest("name: a\nhandler: m:f\ntriggers: [{http: {path: /}}]")
    assert m.triggers == (HttpTrigger("/", ("ANY",), RouteAuth.KEY, None),)


def test_the_stored_form_is_json_and_reads_back_equal() -> None:
    m = load_manifest(ALL)
    stored = json.loads(json.dumps(manifest_to_dict(m)))
    assert manifest_from_dict(stored) == m


def test_a_manifest_stored_before_triggers_existed_still_loads() -> None:
    old = {"name": "a", "handler": "m:f", "runtime": "python3.11", "memory": 128,
           "timeout": 10.0, "concurrency": 1, "env": {}, "requirements": None,
           "network": "none", "scale": {"min": 0, "max": 10, "target": 1.0, "keep_alive": 600.0}}
    m = manifest_from_dict(old)
    assert m.triggers == ()
    assert manifest_to_dict(m) == old  # so an identical redeploy still stores nothing


def test_an_unknown_trigger_kind_names_it_the_file_and_line() -> None:
    message = error_of("  - cron: '* * * * *'\n  - mqtq: {topic: a}\n")
    assert message.startswith("unknown trigger kind 'mqtq' in triggers.1 (yun.yaml line 6);")
    assert "did you mean 'mqtt'?" in message


def test_an_unknown_option_names_key_file_and_line() -> None:
    message = error_of("  - http:\n      path: /a\n      metods: [GET]\n")
    assert message.startswith("unknown key 'metods' in triggers.0.http (yun.yaml line 7);")


@pytest.mark.parametrize(("entry", "expected"), [
    ("- cron: '61 * * * *'", "triggers[0].cron schedule must be a 5-field cron expression"),
    ("- cron: 'rate(0 minutes)'", "triggers[0].cron schedule must be"),
    ("- cron: {schedule: '@daily', timezone: Mars/Base}", "triggers[0].cron schedule must be"),
    ("- cron: {schedule: '0 * * * *', timezone: Mars/Base}",
     "triggers[0].cron.timezone must be an IANA time zone like Europe/Paris, was: 'Mars/Base'"),
    ("- mqtt: {broker: 'http://x', topic: a}", "triggers[0].mqtt.broker must be a URL like"),
    ("- mqtt: {broker: 'mqtt://x', topic: 'a/#/b'}", "triggers[0].mqtt.topic must be a topic"),
    ("- mqtt: {broker: 'mqtt://x', topic: 'a/b+'}", "triggers[0].mqtt.topic must be a topic"),
    ("- mqtt: {broker: 'mqtt://x', topic: a, qos: 2}", "triggers[0].mqtt.qos must be 0 or 1"),
    ("- mqtt: {broker: 'mqtt://x', topic: a, batch: {size: 0}}",
     "triggers[0].mqtt.batch.size must be 1..10000"),
    ("- mqtt: {broker: 'mqtt://x', topic: a, batch: {window: 2m}}",
     "triggers[0].mqtt.batch.window must be more than 0 and at most 60s, was: '2m'"),
    ("- nats: {url: 'nats://x', subject: 'a..b'}", "triggers[0].nats.subject must be a subject"),
    ("- nats: {url: 'nats://x', subject: a, consumer: c}", "triggers[0].nats.consumer needs a"),
    ("- webhook: {secret_env: NOPE}",
     "triggers[0].webhook.secret_env must name an entry of env holding the signing secret"),
    ("- http: {path: 'users/{id}'}", "triggers[0].http.path must be a path like /users/{id}"),
    ("- http: {path: '/a/{id}/{id}'}", "triggers[0].http.path must be a path"),
    ("- http: {path: /a, methods: [FETCH]}", "triggers[0].http.methods must be among ANY,"),
    ("- http: {path: /a, auth: none}", "triggers[0].http.auth must be key or public"),
    ("- {cron: '* * * * *', http: {path: /}}", "triggers[0] must be a mapping with one key"),
])
def test_bad_options_are_named_with_their_value_and_line(entry: str, expected: str) -> None:
    message = error_of("  " + entry + "\n")
    assert message.startswith(expected), message
    assert "(yun.yaml line 5)" in message


def test_a_short_webhook_secret_is_refused() -> None:
    text = "name: a\nhandler: m:f\nenv: {S: short}\ntriggers: [{webhook: {secret_env: S}}]"
    with pytest.raises(ManifestError, match="env S is the webhook secret and must be at least 16"):
        load_manifest(text)


def test_triggers_must_be_a_list() -> None:
    with pytest.raises(ManifestError, match=r"^triggers must be a list, was: 'cron'"):
        load_manifest("name: a\nhandler: m:f\ntriggers: cron")
