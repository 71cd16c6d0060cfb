"""Fixtures every test folder may use: moto's standalone S3 server, the S3-compatible peer of
the bucket tests (the one fake we allow: it stands in for MinIO/AWS, not for a part of Yun)."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from yun.storage import S3Buckets


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """`moto_server` on a free port for the whole session; killed at the end."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on port {port}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_buckets(moto_endpoint: str) -> Iterator[S3Buckets]:
    """S3 buckets on a fresh physical bucket of the moto server, under a prefix. (Plain, not
    async, so an async fixture may pick it with `request.getfixturevalue`.)"""
    env = {"YUN_BUCKETS_ACCESS_KEY": "test", "YUN_BUCKETS_SECRET_KEY": "test"}
    physical = f"yun-{secrets.token_hex(4)}"
    made = S3Buckets.from_url(
        f"s3://{physical}/some/prefix?endpoint={moto_endpoint}&region=us-east-1", env)
    made.client.create_bucket(Bucket=physical)  # what `open` does, without a loop
    try:
        yield made
    finally:
        made.client.close()
