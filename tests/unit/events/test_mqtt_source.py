"""The MQTT source against the machine's Mosquitto (127.0.0.1:1883), a unique topic per test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import aiomqtt
import pytest
from events_recording import RecordingSubmit

from yun.core import PlatformError
from yun.core.types import Batch, MqttTrigger
from yun.events import MqttSource
from yun.events._mqtt import end_session

BROKER = "mqtt://127.0.0.1:1883"


@pytest.fixture
def prefix() -> str:
    return f"yun-test/{uuid.uuid4().hex[:12]}"


def tenant_of(prefix: str) -> str:
    """A tenant per test: the broker keeps a session per (tenant, broker)."""
    return "t-" + prefix.rsplit("/", 1)[1]


@contextlib.asynccontextmanager
async def running(source: MqttSource) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run())
    try:
        await asyncio.sleep(0.5)  # connected and subscribed
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish(topic: str, payloads: list[bytes], qos: int = 1) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        for payload in payloads:
            await client.publish(topic, payload, qos=qos)


async def until(condition: object, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_each_message_reaches_the_function_with_its_device_id(prefix: str) -> None:
    submit = RecordingSubmit()
    trigger = MqttTrigger(BROKER, f"{prefix}/devices/+/telemetry", qos=1)
    async with running(MqttSource(submit, tenant_of(prefix), BROKER, [("ingest", trigger)])):
        await publish(f"{prefix}/devices/d1/telemetry", [b'{"t": 1}', b"plain", b"\xff"])
        await until(lambda: len(submit.calls) == 3)
    events = [json.loads(c.body) for c in submit.calls]
    assert [e["data"]["device"] for e in events] == ["d1", "d1", "d1"]
    assert events[0]["data"]["payload"] == {"t": 1}
    assert events[1]["data"]["payload"] == "plain"
    assert events[2]["data"]["payload_base64"] == "/w=="
    assert events[0]["type"] == "yun.mqtt.message" and events[0]["specversion"] == "1.0"
    # No dedupe key: a redelivery may run twice, but a repeated reading is never dropped.
    assert all(c.dedupe_key is None for c in submit.calls)


async def test_the_same_reading_sent_again_reaches_the_function_again(prefix: str) -> None:
    submit = RecordingSubmit()
    trigger = MqttTrigger(BROKER, f"{prefix}/devices/+/heartbeat", qos=1)
    async with running(MqttSource(submit, tenant_of(prefix), BROKER, [("beat", trigger)])):
        await publish(f"{prefix}/devices/d1/heartbeat", [b"on", b"on", b"on"])
        await until(lambda: len(submit.calls) == 3)
    assert [json.loads(c.body)["data"]["payload"] for c in submit.calls] == ["on"] * 3


async def test_one_connection_serves_every_function_whose_filter_matches(prefix: str) -> None:
    submit = RecordingSubmit()
    subs = [("all", MqttTrigger(BROKER, f"{prefix}/#")),
            ("temps", MqttTrigger(BROKER, f"{prefix}/+/temp"))]
    async with running(MqttSource(submit, tenant_of(prefix), BROKER, subs)):
        await publish(f"{prefix}/d1/temp", [b"1"], qos=0)
        await publish(f"{prefix}/d1/door", [b"2"], qos=0)
        await until(lambda: len(submit.calls) == 3)
    assert sorted(c.target for c in submit.calls) == ["all", "all", "temps"]
    assert all(c.dedupe_key is None for c in submit.calls)  # QoS 0: never redelivered


async def test_messages_are_batched_by_size_then_by_window(prefix: str) -> None:
    submit = RecordingSubmit()
    trigger = MqttTrigger(BROKER, f"{prefix}/t", qos=0, batch=Batch(size=3, window=0.3))
    async with running(MqttSource(submit, tenant_of(prefix), BROKER, [("agg", trigger)])):
        await publish(f"{prefix}/t", [str(i).encode() for i in range(7)], qos=0)
        await until(lambda: len(submit.calls) == 3)
    batches = [json.loads(c.body)["data"]["messages"] for c in submit.calls]
    assert [[m["payload"] for m in b] for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_qos1_message_is_redelivered_when_submit_failed(prefix: str) -> None:
    submit = RecordingSubmit(fail=PlatformError("queue down"))
    trigger = MqttTrigger(BROKER, f"{prefix}/t", qos=1)
    source = MqttSource(submit, tenant_of(prefix), BROKER, [("f", trigger)])
    async with running(source):
        await publish(f"{prefix}/t", [b"important"])
        await asyncio.sleep(0.3)  # the failed attempt ended the session, unacknowledged
        submit.fail = None
        await until(lambda: len(submit.calls) == 1)
    assert json.loads(submit.calls[0].body)["data"]["payload"] == "important"


async def test_one_function_may_subscribe_twice_with_its_own_batching(prefix: str) -> None:
    submit = RecordingSubmit()
    subs = [("f", MqttTrigger(BROKER, f"{prefix}/a")),
            ("f", MqttTrigger(BROKER, f"{prefix}/b", batch=Batch(size=2, window=5)))]
    async with running(MqttSource(submit, tenant_of(prefix), BROKER, subs)):
        await publish(f"{prefix}/a", [b"1"], qos=0)
        await publish(f"{prefix}/b", [b"2", b"3"], qos=0)
        await until(lambda: len(submit.calls) == 2)
    kinds = sorted(json.loads(c.body)["type"] for c in submit.calls)
    assert kinds == ["yun.mqtt.batch", "yun.mqtt.message"]


async def test_a_filter_no_function_wants_is_unsubscribed_from_the_session(prefix: str) -> None:
    submit = RecordingSubmit()
    tenant = tenant_of(prefix)
    old = MqttTrigger(BROKER, f"{prefix}/old", qos=1)
    new = MqttTrigger(BROKER, f"{prefix}/new", qos=1)
    async with running(MqttSource(submit, tenant, BROKER, [("f", old)])):
        pass
    async with running(MqttSource(submit, tenant, BROKER, [("f", new)], forget=[old.topic])):
        pass
    # Offline now: a filter still in the session would make the broker keep this for us.
    await publish(f"{prefix}/old", [b"stale"])
    everything = MqttTrigger(BROKER, f"{prefix}/#", qos=1)
    async with running(MqttSource(submit, tenant, BROKER, [("f", everything)])):
        await publish(f"{prefix}/new", [b"fresh"])
        await until(lambda: len(submit.calls) == 1)
        await asyncio.sleep(0.3)
    assert [json.loads(c.body)["data"]["payload"] for c in submit.calls] == ["fresh"]


async def test_ending_the_session_stops_the_broker_keeping_messages(prefix: str) -> None:
    submit = RecordingSubmit()
    tenant = tenant_of(prefix)
    trigger = MqttTrigger(BROKER, f"{prefix}/t", qos=1)
    async with running(MqttSource(submit, tenant, BROKER, [("f", trigger)])):
        pass
    await end_session(tenant, BROKER)
    await publish(f"{prefix}/t", [b"while nobody listens"])
    async with running(MqttSource(submit, tenant, BROKER, [("f", trigger)])):
        await publish(f"{prefix}/t", [b"after"])
        await until(lambda: len(submit.calls) == 1)
        await asyncio.sleep(0.3)
    assert [json.loads(c.body)["data"]["payload"] for c in submit.calls] == ["after"]


async def test_qos1_batches_do_not_wait_out_their_window_when_the_broker_stalls(
        prefix: str) -> None:
    """Mosquitto sends at most 20 unacknowledged QoS 1 messages; batches ack only when sent,
    so a batch that waited for its window would cap throughput at 20 per window."""
    submit = RecordingSubmit()
    trigger = MqttTrigger(BROKER, f"{prefix}/t", qos=1, batch=Batch(size=100, window=10.0))
    async with running(MqttSource(submit, tenant_of(prefix), BROKER, [("agg", trigger)])):
        started = asyncio.get_running_loop().time()
        await publish(f"{prefix}/t", [str(i).encode() for i in range(100)])
        await until(lambda: sum(len(json.loads(c.body)["data"]["messages"])
                                for c in submit.calls) == 100, seconds=5)
        assert asyncio.get_running_loop().time() - started < 5
