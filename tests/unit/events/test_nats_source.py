"""The NATS source against the machine's NATS server with JetStream (127.0.0.1:4222)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from events_recording import RecordingSubmit

from yun.core.types import NatsTrigger
from yun.events import NatsSource
from yun.events._nats import default_consumer

URL = "nats://127.0.0.1:4222"


@contextlib.asynccontextmanager
async def running(source: NatsSource) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run())
    try:
        await asyncio.sleep(0.3)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(condition: object, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def no_run(tenant: str, target: str, body: bytes) -> bool:
    raise AssertionError("core subjects go through Submit")


async def test_core_subject_messages_are_submitted_as_cloudevents() -> None:
    subject = f"yun.test.{uuid.uuid4().hex[:12]}.orders"
    submit = RecordingSubmit()
    source = NatsSource(submit, no_run, "acme", URL, [("orders", NatsTrigger(URL, subject))])
    async with running(source):
        nc = await nats.connect(URL)
        await nc.publish(subject, b'{"order": 7}')
        await nc.publish(subject, b"x", headers={"Nats-Msg-Id": "m-2"})
        await nc.flush()
        await nc.close()
        await until(lambda: len(submit.calls) == 2)
    first, second = (json.loads(c.body) for c in submit.calls)
    assert first["data"]["payload"] == {"order": 7} and first["type"] == "yun.nats.message"
    assert second["id"] == "m-2" and submit.calls[1].dedupe_key == "nats:orders:m-2"
    assert submit.calls[0].dedupe_key is None


@pytest.fixture
async def stream() -> AsyncIterator[tuple[str, str]]:
    name = f"YUNTEST{uuid.uuid4().hex[:10].upper()}"
    subject = f"yun.js.{name.lower()}"
    nc = await nats.connect(URL)
    js = nc.jetstream()
    await js.add_stream(name=name, subjects=[subject])
    try:
        yield name, subject
    finally:
        await js.delete_stream(name)
        await nc.close()


async def test_jetstream_messages_are_acked_only_after_the_invocation_succeeded(
        stream: tuple[str, str]) -> None:
    name, subject = stream
    runs: list[dict[str, object]] = []

    async def run(tenant: str, target: str, body: bytes) -> bool:
        runs.append(json.loads(body))
        return len(runs) > 1  # the first attempt fails

    trigger = NatsTrigger(URL, subject, stream=name)
    source = NatsSource(RecordingSubmit(), run, "acme", URL, [("orders", trigger)])
    nc = await nats.connect(URL)
    js = nc.jetstream()
    await js.publish(subject, b'{"order": 1}')
    async with running(source):
        await until(lambda: len(runs) == 2)
        await asyncio.sleep(0.3)
    info = await js.consumer_info(name, default_consumer("acme", "orders", trigger))
    await nc.close()
    assert runs[0]["id"] == runs[1]["id"] == f"{name}:1"  # the same message, redelivered
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_a_slow_invocation_keeps_its_message_from_being_redelivered(
        stream: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("yun.events._nats.ACK_WAIT", 1.0)
    monkeypatch.setattr("yun.events._nats.PROGRESS", 0.3)
    name, subject = stream
    runs: list[str] = []

    async def slow(tenant: str, target: str, body: bytes) -> bool:
        runs.append(json.loads(body)["id"])
        await asyncio.sleep(2.5)  # longer than the ack wait
        return True

    source = NatsSource(RecordingSubmit(), slow, "acme", URL,
                        [("slow", NatsTrigger(URL, subject, stream=name))])
    nc = await nats.connect(URL)
    await nc.jetstream().publish(subject, b"{}")
    async with running(source):
        await until(lambda: len(runs) == 1)
        await asyncio.sleep(3.5)
    await nc.close()
    assert runs == [f"{name}:1"]
