"""`yun up` with the async queue on PostgreSQL and on NATS JetStream (YUN_QUEUE_URL): the
same path as the embedded SQLite queue, including a retry delay on each backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from test_async import settled, submit
from yun_harness import FUNCTIONS, Yun, free_port

from yun.queue import NatsQueue

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


async def _drop_stream(stream: str) -> None:
    queue = await NatsQueue.open("nats://127.0.0.1:4222", stream=stream)
    await queue.delete()
    await queue.close()


@pytest.fixture(params=["postgres", "nats"])
def queued_yun(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Yun]:
    name = f"yun_q_{uuid.uuid4().hex[:10]}"
    if request.param == "postgres":
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"nats://127.0.0.1:4222?stream={name.replace('_', '-')}"
    yun = Yun(data_dir=tmp_path / "data", port=free_port(), env={"YUN_QUEUE_URL": url})
    yun.start()
    try:
        yield yun
    finally:
        if yun.process is not None:
            yun.stop()
        if request.param == "postgres":
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            asyncio.run(_drop_stream(name.replace("_", "-")))


def test_async_invocations_and_retries_run_on_the_configured_queue(queued_yun: Yun) -> None:
    for folder in ("hello", "sink", "flaky"):
        queued_yun.deploy(FUNCTIONS / folder)
    with queued_yun.http() as http:
        hello = submit(http, "hello", {"name": "queued"})
        flaky = submit(http, "flaky", {"echo": 1})
        assert settled(http, hello)["result"]["message"] == "hi, queued"
        done = settled(http, flaky)
        assert (done["status"], done["attempts"]) == ("succeeded", 3)
