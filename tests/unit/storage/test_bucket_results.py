"""Destination records (`on_success` / `on_failure: yun://BUCKET/PREFIX`) written as objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yun.storage import LocalBuckets, Origin, ResultWriter, parse_bucket_destination


def record(payload: object) -> bytes:
    return json.dumps({"version": "1.0", "requestContext": {"condition": "Success"},
                       "requestPayload": payload, "responsePayload": {"ok": True}}).encode()


async def test_a_result_is_stored_as_json_under_its_key(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "results")
    body = record({"n": 1})
    info = await ResultWriter(buckets).write_result("acme", "results", "ok/inv-1.json", body)
    got, stream = await buckets.get("acme", "results", "ok/inv-1.json")
    assert b"".join([c async for c in stream]) == body
    assert got.content_type == "application/json" and got.etag == info.etag
    assert got.origin is None


async def test_a_result_of_a_bucket_triggered_invocation_carries_its_origin(
        tmp_path: Path) -> None:
    """So the loop guard sees it: a destination in the triggering bucket cannot loop."""
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    envelope = {"specversion": "1.0", "type": "yun.bucket.object.created",
                "yuntrigger": "thumbs#abc", "yundepth": "3", "data": {}}
    await ResultWriter(buckets).write_result("acme", "uploads", "r.json", record(envelope))
    assert (await buckets.head("acme", "uploads", "r.json")).origin == Origin("thumbs#abc", 3)


async def test_writing_the_same_result_again_leaves_one_object(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "results")
    writer = ResultWriter(buckets)
    first = await writer.write_result("acme", "results", "k.json", record(1))
    again = await writer.write_result("acme", "results", "k.json", record(1))
    assert first.etag == again.etag
    assert [o.key for o in (await buckets.list("acme", "results")).objects] == ["k.json"]


def test_a_bucket_destination_names_bucket_and_prefix() -> None:
    assert parse_bucket_destination("yun://results") == ("results", "")
    assert parse_bucket_destination("yun://results/thumbs/ok/") == ("results", "thumbs/ok/")
    assert parse_bucket_destination("thumbs:live") is None


@pytest.mark.parametrize("target", ["yun://", "yun://Bad_Bucket/x", "yun://ok-bucket//x"])
def test_a_malformed_bucket_destination_is_refused(target: str) -> None:
    with pytest.raises(ValueError, match="yun://BUCKET"):
        parse_bucket_destination(target)
