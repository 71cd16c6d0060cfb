"""The NATS source: one connection per (tenant, server) for all of the tenant's NATS triggers.

Core subjects are at-most-once by nature (NATS keeps nothing): each message is submitted to
the async path. JetStream consumers are pull consumers acked only after the invocation
succeeded (`Run` returned True); a failure naks with a delay, so JetStream redelivers up to
the consumer's `max_deliver`, and a crash before the ack redelivers after `ack_wait`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig

from yun.core import YunError
from yun.core.types import NatsTrigger
from yun.events._cloudevents import CloudEvent, new_event
from yun.events._source import source_uri
from yun.queue import Submit

log = logging.getLogger("yun.events")

# Runs one JetStream event now: (tenant, target, body) -> did the invocation succeed?
Run = Callable[[str, str, bytes], Awaitable[bool]]

FETCH = 10  # JetStream messages pulled at once
MAX_DELIVER = 5  # JetStream deliveries of one message before it is given up
RETRY = 2.0  # seconds before reconnecting, re-binding a consumer, or redelivering a failure
ACK_WAIT = 30.0  # seconds JetStream waits for an ack (or a progress signal) before redelivery
PROGRESS = 10.0  # seconds between "still working" signals to JetStream


def _event(tenant: str, function: str, msg: Msg, id: str | None) -> CloudEvent:
    data: dict[str, object] = {"subject": msg.subject, "headers": dict(msg.headers or {})}
    try:
        data["payload"] = json.loads(msg.data) if msg.data else None
    except ValueError:
        try:
            data["payload"] = msg.data.decode()
        except UnicodeDecodeError:
            data["payload_base64"] = base64.b64encode(msg.data).decode()
    return new_event(source_uri(tenant, "nats", function), "yun.nats.message", data,
                     subject=msg.subject, id=id)


def default_consumer(tenant: str, function: str, trigger: NatsTrigger) -> str:
    """`yun-<tenant>-<function>-<hash of stream and subject>`: stable across restarts, and
    distinct for each JetStream trigger of a function."""
    digest = hashlib.sha256(f"{trigger.stream}|{trigger.subject}".encode()).hexdigest()[:8]
    return f"yun-{tenant}-{function}-{digest}"


class NatsSource:
    def __init__(self, submit: Submit, run: Run, tenant: str, url: str,
                 subscriptions: Sequence[tuple[str, NatsTrigger]]) -> None:
        self.submit = submit
        self.run_now = run
        self.tenant = tenant
        self.url = url
        self.subscriptions = list(subscriptions)

    async def run(self) -> None:
        """Until cancelled. The client reconnects by itself once connected."""
        while True:
            try:
                nc = await nats.connect(self.url, name=f"yun-{self.tenant}",
                                        max_reconnect_attempts=-1, connect_timeout=5)
            except (OSError, nats.errors.Error) as exc:
                log.warning("nats %s (tenant %s): %s; retrying", self.url, self.tenant, exc)
                await asyncio.sleep(RETRY)
                continue
            try:
                async with asyncio.TaskGroup() as group:
                    for function, trigger in self.subscriptions:
                        if trigger.stream is None:
                            group.create_task(self._core(nc, function, trigger))
                        else:
                            group.create_task(self._jetstream(nc, function, trigger))
            finally:
                await nc.close()

    async def _core(self, nc: Nats, function: str, trigger: NatsTrigger) -> None:
        sub = await nc.subscribe(trigger.subject, pending_msgs_limit=1000)
        async for msg in sub.messages:
            msg_id = (msg.headers or {}).get("Nats-Msg-Id")
            event = _event(self.tenant, function, msg, msg_id)
            dedupe = f"nats:{function}:{msg_id}" if msg_id else None
            try:
                await self.submit(self.tenant, function, event.to_json(), "nats", dedupe)
            except YunError as exc:
                # Core NATS cannot redeliver: the message is lost, and the log says so.
                log.error("nats %s: dropped a message on %s for %s: %s", self.url,
                          msg.subject, function, exc)

    async def _jetstream(self, nc: Nats, function: str, trigger: NatsTrigger) -> None:
        js = nc.jetstream()
        durable = trigger.consumer or default_consumer(self.tenant, function, trigger)
        while True:
            try:
                sub = await js.pull_subscribe(trigger.subject, durable=durable,
                                              stream=trigger.stream,
                                              config=ConsumerConfig(max_deliver=MAX_DELIVER,
                                                                    ack_wait=ACK_WAIT))
                break
            except nats.errors.Error as exc:
                log.warning("nats %s: cannot bind consumer %s on stream %s: %s; retrying",
                            self.url, durable, trigger.stream, exc)
                await asyncio.sleep(RETRY)
        while True:
            try:
                batch = await sub.fetch(FETCH, timeout=5)
            except nats.errors.TimeoutError:
                continue
            except nats.errors.Error as exc:
                log.warning("nats %s: fetch from %s failed: %s", self.url, durable, exc)
                await asyncio.sleep(RETRY)
                continue
            for msg in batch:
                meta = msg.metadata
                event = _event(self.tenant, function, msg,
                               f"{meta.stream}:{meta.sequence.stream}")
                try:
                    ok = await _working(msg, self.run_now(self.tenant, function,
                                                          event.to_json()))
                except YunError as exc:
                    log.warning("nats %s: invoking %s failed: %s", self.url, function, exc)
                    ok = False
                if ok:
                    await msg.ack()
                elif meta.num_delivered >= MAX_DELIVER:
                    # JetStream would not deliver it again: say so, and end it explicitly.
                    log.error("nats %s: %s failed on message %s of stream %s %d times; "
                              "giving it up", self.url, function, meta.sequence.stream,
                              meta.stream, meta.num_delivered)
                    await msg.term()
                else:
                    await msg.nak(delay=RETRY)


async def _working(msg: Msg, invocation: Awaitable[bool]) -> bool:
    """Await the invocation, telling JetStream every `PROGRESS` seconds that the message is
    still being worked on: a function may run longer than the consumer's ack wait,
    and without this JetStream would deliver the message again meanwhile."""
    task = asyncio.ensure_future(invocation)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=PROGRESS)
            if done:
                return task.result()
            await msg.in_progress()
    finally:
        task.cancel()
