"""The MQTT source: one connection per (tenant, broker) serves every function of the tenant
subscribed there; each message goes to every function whose topic filter matches.

At-least-once for QoS 1: the session is persistent (fixed client id, clean_session off) and a
message is acknowledged only after `Submit` returned for every function it went to. A crash
before the ack makes the broker send it again, and the function may see it twice. No dedupe
key: packet ids repeat (they wrap at 65,535 per session), so any key built from them would, in
the queue's 24-hour dedupe window, sooner or later drop a device's next identical reading.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiomqtt
import paho.mqtt.client as paho_mqtt

from yun.core import YunError
from yun.core.types import MqttTrigger
from yun.events._batch import Batcher
from yun.events._cloudevents import new_event
from yun.events._source import source_uri
from yun.queue import Submit

log = logging.getLogger("yun.events")

BUFFER = 1000  # messages read from the socket but not yet submitted, at most
RECONNECT = (0.5, 10.0)  # seconds: first and longest wait before reconnecting
# A batch holding unacknowledged QoS 1 messages goes early once nothing arrived for this
# long: the broker may be withholding the next messages until we ack (Mosquitto sends at most
# 20 unacknowledged ones by default), so waiting out the window would cap the throughput.
STALL = 0.05


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter matching: `+` is one level, `#` the rest (and the parent level itself)."""
    want, have = pattern.split("/"), topic.split("/")
    if topic.startswith("$") and want[0] in ("+", "#"):
        return False  # wildcards never match $SYS and other broker topics
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)


def device_of(pattern: str, topic: str) -> str | None:
    """The topic level under the filter's first `+`: the device id in `devices/+/telemetry`."""
    for level, value in zip(pattern.split("/"), topic.split("/"), strict=False):
        if level == "+":
            return value
    return None


@dataclass
class _Delivery:
    """A message read from the broker; acknowledged when every function it went to has it."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    ack: Callable[[], object]
    waiting: int = 0
    key: str = field(init=False)

    def __post_init__(self) -> None:
        # Packet ids repeat once acknowledged; with the topic and the payload's hash the key
        # names this message, and a broker's redelivery of it produces the same key.
        digest = hashlib.sha256(self.payload).hexdigest()[:24]
        self.key = f"{self.topic}:{self.mid}:{digest}"

    def done(self) -> None:
        self.waiting -= 1
        if self.waiting == 0 and self.qos > 0:
            self.ack()


def _payload(payload: bytes) -> dict[str, object]:
    try:
        return {"payload": json.loads(payload)}
    except ValueError:
        pass
    try:
        return {"payload": payload.decode()}
    except UnicodeDecodeError:
        return {"payload_base64": base64.b64encode(payload).decode()}


class MqttSource:
    def __init__(self, submit: Submit, tenant: str, broker: str,
                 subscriptions: Sequence[tuple[str, MqttTrigger]],
                 forget: Iterable[str] = ()) -> None:
        """`forget`: filters an earlier source of this (tenant, broker) subscribed to that
        no function wants any more; the persistent session would keep them otherwise."""
        self.submit = submit
        self.tenant = tenant
        self.broker = broker
        self.subscriptions = list(subscriptions)
        self.filters: dict[str, int] = {}
        for _, trigger in self.subscriptions:
            self.filters[trigger.topic] = max(self.filters.get(trigger.topic, 0), trigger.qos)
        self.forget = sorted(set(forget) - set(self.filters))
        url = urlsplit(broker)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 1883
        self.username, self.password = url.username, url.password
        # One stable session per (tenant, broker), whatever the filters: the broker keeps the
        # unacked QoS 1 messages of this session across our restarts and re-subscriptions and
        # sends them again.
        self.client_id = _client_id(tenant, broker)
        # One batcher per subscription: a function may subscribe twice with different batching.
        self._batchers = [Batcher[_Delivery](t.batch) for _, t in self.subscriptions]

    async def run(self) -> None:
        """Until cancelled; reconnects with backoff after the broker goes away."""
        wait = RECONNECT[0]
        while True:
            try:
                await self._session()
            except* (aiomqtt.MqttError, OSError, YunError) as group:
                log.warning("mqtt %s (tenant %s): %s; reconnecting in %.1fs", self.broker,
                            self.tenant, group.exceptions[0], wait)
            # Unacked messages come again on the new session; drop the partial batches.
            for batcher in self._batchers:
                batcher.take()
            await asyncio.sleep(wait)
            wait = min(wait * 2, RECONNECT[1])

    async def _session(self) -> None:
        durable = any(t.qos > 0 for _, t in self.subscriptions)
        async with aiomqtt.Client(
                self.host, self.port, identifier=self.client_id, username=self.username,
                password=self.password, clean_session=not durable,
                max_queued_incoming_messages=BUFFER, timeout=10) as client:
            paho = client._client
            paho.manual_ack_set(True)  # ack after Submit, not on receipt
            for topic, qos in sorted(self.filters.items()):
                await client.subscribe(topic, qos=qos)
            for topic in self.forget:
                await client.unsubscribe(topic)
            log.info("mqtt %s (tenant %s): subscribed to %s", self.broker, self.tenant,
                     ", ".join(sorted(self.filters)))
            # A reader task moves messages into our own bounded queue: waiting on that with a
            # timeout is safe, whereas cancelling aiomqtt's iterator can drop a message.
            inbox: asyncio.Queue[aiomqtt.Message] = asyncio.Queue(BUFFER)
            async with asyncio.TaskGroup() as group:
                group.create_task(_read(client, inbox))
                await self._process(inbox, paho)

    async def _process(self, inbox: asyncio.Queue[aiomqtt.Message],
                       paho: paho_mqtt.Client) -> None:
        while True:
            deadline = min((d for b in self._batchers
                            if (d := b.deadline()) is not None), default=None)
            if any(d.qos > 0 for b in self._batchers for d in b.items):
                stall = time.monotonic() + STALL
                deadline = stall if deadline is None else min(deadline, stall)
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            message = None
            with contextlib.suppress(TimeoutError):
                message = await asyncio.wait_for(inbox.get(), timeout)
            if message is not None:
                await self._receive(message, paho)
                await self._flush_due(stalled=False)
            else:
                await self._flush_due(stalled=True)

    async def _receive(self, message: aiomqtt.Message, paho: paho_mqtt.Client) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else str(
            message.payload).encode()
        topic, mid, qos = message.topic.value, message.mid, message.qos
        delivery = _Delivery(topic, payload, qos, mid, lambda: paho.ack(mid, qos))
        targets = [i for i, (_, t) in enumerate(self.subscriptions)
                   if topic_matches(t.topic, topic)]
        delivery.waiting = len(targets)
        if not targets:  # a filter of the session that no function wants any more
            delivery.waiting = 1
            delivery.done()
        for i in targets:
            full = self._batchers[i].add(delivery, time.monotonic())
            if full is not None:
                await self._send(i, full)

    async def _flush_due(self, stalled: bool) -> None:
        now = time.monotonic()
        for i, batcher in enumerate(self._batchers):
            due = batcher.due(now)
            if due is None and stalled and any(d.qos > 0 for d in batcher.items):
                due = batcher.take()
            if due:
                await self._send(i, due)

    async def _send(self, index: int, batch: list[_Delivery]) -> None:
        function, trigger = self.subscriptions[index]
        items = [{"topic": d.topic, "device": device_of(trigger.topic, d.topic), "qos": d.qos,
                  **_payload(d.payload)} for d in batch]
        source = source_uri(self.tenant, "mqtt", function)
        if trigger.batch is None:
            (one,) = batch
            event = new_event(source, "yun.mqtt.message", items[0], subject=one.topic,
                              id=hashlib.sha256(one.key.encode()).hexdigest()[:32])
        else:
            joined = "\n".join(d.key for d in batch).encode()
            event = new_event(source, "yun.mqtt.batch", {"messages": items},
                              subject=trigger.topic, id=hashlib.sha256(joined).hexdigest()[:32])
        # Until Submit returns nothing is acknowledged: if it raises, the session ends and
        # the broker redelivers.
        await self.submit(self.tenant, function, event.to_json(), "mqtt", None)
        for delivery in batch:
            delivery.done()


async def end_session(tenant: str, broker: str) -> None:
    """Drop the broker's session of (tenant, broker) when no function subscribes there any
    more; a persistent session would otherwise queue messages for Yun forever."""
    url = urlsplit(broker)
    async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883,
                              identifier=_client_id(tenant, broker), username=url.username,
                              password=url.password, clean_session=True, timeout=5):
        pass


def _client_id(tenant: str, broker: str) -> str:
    return "yun-" + hashlib.sha256(f"{tenant}|{broker}".encode()).hexdigest()[:20]


async def _read(client: aiomqtt.Client, inbox: asyncio.Queue[aiomqtt.Message]) -> None:
    async for message in client.messages:
        await inbox.put(message)
