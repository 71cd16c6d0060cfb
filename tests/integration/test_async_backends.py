"""`yun up` with the async queue on PostgreSQL and on NATS JetStream (YUN_QUEUE_URL): the
same path as the embedded SQLite queue, including a retry delay on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from queue_backends import queue_url
from test_async import settled, submit
from yun_harness import FUNCTIONS, Yun, free_port


@pytest.fixture(params=["postgres", "nats"])
def queued_yun(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Yun]:
    with queue_url(request.param) as url:
        yun = Yun(data_dir=tmp_path / "data", port=free_port(), env={"YUN_QUEUE_URL": url})
        yun.start()
        try:
            yield yun
        finally:
            if yun.process is not None:
                yun.stop()


def test_async_invocations_and_retries_run_on_the_configured_queue(queued_yun: Yun) -> None:
    for folder in ("hello", "sink", "flaky"):
        queued_yun.deploy(FUNCTIONS / folder)
    with queued_yun.http() as http:
        hello = submit(http, "hello", {"name": "queued"})
        flaky = submit(http, "flaky", {"echo": 1})
        assert settled(http, hello)["result"]["message"] == "hi, queued"
        done = settled(http, flaky)
        assert (done["status"], done["attempts"]) == ("succeeded", 3)
