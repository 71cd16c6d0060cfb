"""`yun bucket ...` against a real `yun up`: objects land as files in the data dir and come
back byte for byte, through files and through stdin/stdout."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from yun_harness import Yun

FUNCTIONS = Path(__file__).parent / "functions"


def test_a_file_goes_into_a_bucket_and_comes_back_the_same(yun: Yun, tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    (tmp_path / "blob.bin").write_bytes(data)
    assert yun.cli("bucket", "mb", "uploads").returncode == 0
    up = yun.cli("bucket", "cp", str(tmp_path / "blob.bin"), "yun://uploads/raw/")
    assert up.returncode == 0, up.stderr
    stored = yun.data_dir / "buckets" / "default" / "uploads" / "raw" / "blob.bin"
    assert hashlib.md5(stored.read_bytes()).digest() == hashlib.md5(data).digest()
    down = yun.cli("bucket", "cp", "yun://uploads/raw/blob.bin", str(tmp_path / "back.bin"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back.bin").read_bytes() == data


def test_stdin_and_stdout_listing_and_removal(yun: Yun) -> None:
    assert yun.cli("bucket", "mb", "notes").returncode == 0
    assert yun.cli("bucket", "cp", "-", "yun://notes/2024/a.txt", input="hello").returncode == 0
    assert yun.cli("bucket", "cp", "-", "yun://notes/top.txt", input="top").returncode == 0
    assert yun.cli("bucket", "cp", "yun://notes/2024/a.txt", "-").stdout == "hello"
    listed = yun.cli("bucket", "ls", "notes").stdout.split()
    assert "2024/" in listed and "top.txt" in listed and "2024/a.txt" not in listed
    assert "2024/a.txt" in yun.cli("bucket", "ls", "-r", "notes").stdout
    refused = yun.cli("bucket", "rb", "notes")
    assert refused.returncode == 1 and "not empty" in refused.stderr
    assert yun.cli("bucket", "rm", "yun://notes/top.txt").returncode == 0
    missing = yun.cli("bucket", "cp", "yun://notes/top.txt", "-")
    assert missing.returncode == 1 and "'top.txt' not found" in missing.stderr
    assert yun.cli("bucket", "rb", "--force", "notes").returncode == 0
    assert "notes" not in yun.cli("bucket", "ls").stdout


def events_seen(yun: Yun, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The envelopes the on-upload function printed, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    with yun.http() as http:
        while True:
            logs = http.get("/v1/logs", params={"function": "on-upload"}).json()["logs"]
            seen = [json.loads(line["line"].split(" ", 1)[1]) for line in logs
                    if line["line"].startswith("event ")]
            if len(seen) >= count or time.monotonic() > deadline:
                return seen
            time.sleep(0.2)


def test_an_upload_matching_a_bucket_trigger_invokes_the_function(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "on_upload")
    assert yun.cli("bucket", "mb", "uploads").returncode == 0
    for key in ("images/cat.jpg", "images/cat.png", "docs/cat.jpg"):
        assert yun.cli("bucket", "cp", "-", f"yun://uploads/{key}", input="meow").returncode == 0
    assert yun.cli("bucket", "rm", "yun://uploads/images/cat.jpg").returncode == 0
    created, deleted = events_seen(yun, 2)
    assert created["type"] == "yun.bucket.object.created"
    assert created["source"] == "/buckets/uploads" and created["subject"] == "images/cat.jpg"
    assert created["data"] == {"bucket": "uploads", "key": "images/cat.jpg", "size": 4,
                               "etag": hashlib.md5(b"meow").hexdigest(),
                               "content_type": "image/jpeg"}
    assert created["specversion"] == "1.0" and created["yundepth"] == "1"
    assert deleted["type"] == "yun.bucket.object.deleted"
    time.sleep(1)  # nothing else arrives: the .png and docs/ uploads did not match
    assert len(events_seen(yun, 3, timeout=0)) == 2


def test_an_async_result_goes_to_its_bucket_destination(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "to_bucket")
    assert yun.cli("bucket", "mb", "results").returncode == 0
    with yun.http() as http:
        invocation = http.post("/fn/to-bucket/async", json={"n": 21}).json()["id"]
        key = f"ok/{invocation}-Success.json"
        deadline = time.monotonic() + 30
        while True:
            got = http.get(f"/v1/buckets/results/objects/{key}")
            if got.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert got.status_code == 200, got.text
    record = got.json()
    assert record["requestPayload"] == {"n": 21}
    assert record["responsePayload"] == {"doubled": 42}
    assert got.headers["content-type"] == "application/json"


def test_a_function_writing_into_its_own_trigger_bucket_runs_once(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "loop")
    assert yun.cli("bucket", "mb", "uploads").returncode == 0
    assert yun.cli("bucket", "cp", "-", "yun://uploads/in.txt", input="x").returncode == 0
    with yun.http() as http:
        deadline = time.monotonic() + 30
        while not (outputs := http.get("/v1/buckets/uploads/objects",
                                       params={"prefix": "out/"}).json()["objects"]):
            assert time.monotonic() < deadline, "the result never arrived"
            time.sleep(0.2)
        time.sleep(2)  # time enough for a second round, were there one
        seen = [line["line"] for line in
                http.get("/v1/logs", params={"function": "loop"}).json()["logs"]]
        assert seen == ["saw in.txt"]
        assert len(http.get("/v1/buckets/uploads/objects",
                            params={"prefix": "out/"}).json()["objects"]) == len(outputs) == 1


def test_two_functions_feeding_each_other_stop_at_the_depth_limit(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "ping")
    yun.deploy(FUNCTIONS / "pong")
    for bucket in ("ping", "pong"):
        assert yun.cli("bucket", "mb", bucket).returncode == 0
    assert yun.cli("bucket", "cp", "-", "yun://ping/start", input="go").returncode == 0
    with yun.http() as http:
        deadline = time.monotonic() + 90
        while True:
            refusals = [r for bucket in ("ping", "pong") for r in
                        http.get(f"/v1/buckets/{bucket}/refusals").json()["refusals"]]
            if refusals:
                break
            assert time.monotonic() < deadline, "the chain was never refused"
            time.sleep(0.3)
        (refusal,) = refusals
        assert refusal["depth"] == 17 and "more than 16" in refusal["reason"]
        results = sum(len(http.get(f"/v1/buckets/{bucket}/objects").json()["objects"])
                      for bucket in ("ping", "pong"))
        assert results == 1 + 16  # the upload, then one result per invocation in the chain
