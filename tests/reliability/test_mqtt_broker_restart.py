"""MQTT broker restart mid-stream: a private Mosquitto (its own port and persistence file, so
the machine's shared broker stays up) is restarted while a publisher sends QoS 1 messages;
every message reaches `Submit`. The soak version sends more, over several restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from yun.core.types import MqttTrigger
from yun.events import MqttSource


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nmax_queued_messages 100000\n"
            # Run as root, it would drop to the `mosquitto` user, who cannot write here.
            "user root\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # writes its persistence file
            self.process.wait(10)
            self.process = None


class Received:
    """The `Submit` side: remembers each message's number (duplicates allowed)."""

    def __init__(self) -> None:
        self.numbers: set[int] = set()
        self.calls = 0

    async def __call__(self, tenant: str, target: str, body: bytes, source: str,
                       dedupe_key: str | None) -> str:
        self.calls += 1
        self.numbers.add(json.loads(body)["data"]["payload"]["n"])
        return str(self.calls)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


async def publish_through_restarts(port: int, count: int) -> None:
    """QoS 1 with a persistent session; a publish the broker did not confirm is sent again."""
    i = 0
    while i < count:
        try:
            async with aiomqtt.Client("127.0.0.1", port, identifier="yun-rel-pub",
                                      clean_session=False, timeout=2) as client:
                while i < count:
                    await client.publish("rel/dev-1/t", json.dumps({"n": i}), qos=1, timeout=2)
                    i += 1
                    await asyncio.sleep(0.002)
        except aiomqtt.MqttError:
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def source_running(source: MqttSource) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run(broker: Broker, count: int, restarts: int) -> set[int]:
    submit = Received()
    url = f"mqtt://127.0.0.1:{broker.port}"
    source = MqttSource(submit, "acme", url, [("ingest", MqttTrigger(url, "rel/+/t", qos=1))])

    def received() -> set[int]:
        return submit.numbers

    async with source_running(source):
        await asyncio.sleep(0.5)
        publisher = asyncio.create_task(publish_through_restarts(broker.port, count))
        for r in range(restarts):
            target = count * (r + 1) // (restarts + 1)
            async with asyncio.timeout(30):
                while len(received()) < target:
                    await asyncio.sleep(0.01)
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(broker.start)
        async with asyncio.timeout(60):
            await publisher
            while len(received()) < count:
                await asyncio.sleep(0.05)
    return received()


async def test_qos1_messages_all_arrive_across_a_broker_restart(broker: Broker) -> None:
    assert await run(broker, count=300, restarts=1) == set(range(300))


@pytest.mark.soak
async def test_qos1_messages_all_arrive_across_many_broker_restarts(broker: Broker) -> None:
    assert await run(broker, count=5000, restarts=5) == set(range(5000))
