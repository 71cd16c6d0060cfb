"""`yun up` with `YUN_BUCKETS_URL` on moto's S3 server: the CLI round trip lands in the S3
store, and the store's notification webhook (sent here as MinIO would) triggers a function."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from yun_harness import Yun, free_port

FUNCTIONS = Path(__file__).parent / "functions"


@pytest.fixture
def yun_s3(tmp_path: Path, moto_endpoint: str) -> Iterator[tuple[Yun, Any, str]]:
    physical = f"yun-{secrets.token_hex(4)}"
    env = {"YUN_BUCKETS_URL": f"s3://{physical}/yun?endpoint={moto_endpoint}&region=us-east-1",
           "YUN_BUCKETS_ACCESS_KEY": "test", "YUN_BUCKETS_SECRET_KEY": "test"}
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    instance = Yun(data_dir=tmp_path / "data", port=free_port(), env=env)
    instance.start()
    try:
        yield instance, s3, physical
    finally:
        if instance.process is not None:
            instance.stop()
        s3.close()


def test_objects_live_in_the_s3_store(yun_s3: tuple[Yun, Any, str]) -> None:
    yun, s3, physical = yun_s3
    assert yun.cli("bucket", "mb", "notes").returncode == 0
    assert yun.cli("bucket", "cp", "-", "yun://notes/a/b.txt", input="hello").returncode == 0
    stored = s3.get_object(Bucket=physical, Key="yun/data/default/notes/a/b.txt")
    assert stored["Body"].read() == b"hello"
    assert yun.cli("bucket", "cp", "yun://notes/a/b.txt", "-").stdout == "hello"
    assert not (yun.data_dir / "buckets").exists()


def test_a_notification_from_the_store_triggers_the_function(
        yun_s3: tuple[Yun, Any, str]) -> None:
    yun, _s3, physical = yun_s3
    yun.deploy(FUNCTIONS / "on_upload")
    assert yun.cli("bucket", "mb", "uploads").returncode == 0
    assert yun.cli("bucket", "cp", "-", "yun://uploads/images/x.jpg", input="jpg").returncode == 0
    with yun.http() as http:
        shown = http.get("/v1/buckets/uploads").json()
        record = {"eventName": "s3:ObjectCreated:Put", "eventTime": "2026-11-26T12:00:00Z",
                  "s3": {"bucket": {"name": physical},
                         "object": {"key": "yun/data/default/uploads/images/x.jpg", "size": 3,
                                    "eTag": "e1", "contentType": "image/jpeg",
                                    "userMetadata": {}}}}
        hook = f"{yun.url}{shown['events_url']}"
        refused = httpx.post(hook, json={"Records": [record]})
        assert refused.status_code == 401
        sent = httpx.post(hook, json={"Records": [record]},
                          headers={"authorization": f"Bearer {shown['events_token']}"})
        assert sent.status_code == 200 and sent.json() == {"accepted": 1, "ignored": 0}
        deadline = time.monotonic() + 30
        while True:
            logs = http.get("/v1/logs", params={"function": "on-upload"}).json()["logs"]
            if logs or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    (line,) = [entry["line"] for entry in logs]
    envelope = json.loads(line.split(" ", 1)[1])
    assert envelope["type"] == "yun.bucket.object.created"
    assert envelope["subject"] == "images/x.jpg" and envelope["data"]["etag"] == "e1"
