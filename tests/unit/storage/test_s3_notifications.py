"""S3 notification `Records` (MinIO's shape, AWS's without metadata) become object events of
the one bucket the webhook is for; anything else is ignored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from yun.core import InvalidRequest
from yun.storage import Origin, parse_notification

PREFIX = "yun/data/acme/uploads/"


def record(name: str, key: str, *, bucket: str = "yun-data", **item: object) -> dict[str, object]:
    return {"eventName": name, "eventTime": "2026-11-26T12:00:00.000Z",
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, **item}}}


def parse(*records: object) -> tuple[list[object], int]:
    body = json.dumps({"Records": list(records)}).encode()
    found, ignored = parse_notification(body, "acme", "uploads", "yun-data", PREFIX)
    return [n.event for n in found], ignored


def test_a_minio_put_record_is_a_created_event_with_metadata_and_origin() -> None:
    body = json.dumps({"Records": [record(
        "s3:ObjectCreated:Put", "yun/data/acme/uploads/images/my+cat%21.jpg", size=12,
        eTag="abc", contentType="image/jpeg",
        userMetadata={"X-Amz-Meta-Owner": "ann", "X-Amz-Meta-Yun-Origin-Trigger": "t#1",
                      "X-Amz-Meta-Yun-Origin-Depth": "2", "content-type": "image/jpeg"})]})
    (notified,), ignored = parse_notification(body.encode(), "acme", "uploads", "yun-data",
                                              PREFIX)
    event = notified.event
    assert ignored == 0 and notified.has_metadata
    assert (event.tenant, event.kind) == ("acme", "created")
    info = event.object
    assert (info.bucket, info.key, info.size, info.etag) == ("uploads", "images/my cat!.jpg",
                                                             12, "abc")
    assert info.content_type == "image/jpeg" and dict(info.metadata) == {"owner": "ann"}
    assert info.origin == Origin("t#1", 2)
    assert info.modified == datetime(2026, 11, 26, 12, tzinfo=UTC).timestamp()


def test_an_aws_delete_record_is_a_deleted_event_without_metadata() -> None:
    body = json.dumps({"Records": [record("ObjectRemoved:Delete", PREFIX + "a.txt")]})
    (notified,), _ = parse_notification(body.encode(), "acme", "uploads", "yun-data", PREFIX)
    assert notified.event.kind == "deleted" and not notified.has_metadata


def test_records_of_other_buckets_prefixes_or_kinds_are_ignored() -> None:
    events, ignored = parse(
        record("s3:ObjectCreated:Put", PREFIX + "ok.txt"),
        record("s3:ObjectCreated:Put", "yun/data/other/uploads/x.txt"),
        record("s3:ObjectCreated:Put", PREFIX + "x.txt", bucket="elsewhere"),
        record("s3:ObjectAccessed:Get", PREFIX + "x.txt"),
        record("s3:ObjectCreated:Put", PREFIX),
        "not a record",
    )
    assert [e.object.key for e in events] == ["ok.txt"]  # type: ignore[attr-defined]
    assert ignored == 5


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"Records": 3}'])
def test_a_body_that_is_not_a_notification_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match="S3 notification"):
        parse_notification(body, "acme", "uploads", "yun-data", PREFIX)
