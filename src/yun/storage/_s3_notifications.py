"""S3 event notifications (the `Records` JSON that MinIO, Ceph and AWS send) as object events.

Pure: the webhook route authenticates the request and hands the body here with the one Yun
bucket it is for; records of any other bucket or prefix are ignored, so a token can only ever
produce events of its own bucket.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from yun.core import InvalidRequest
from yun.storage._buckets import DEFAULT_CONTENT_TYPE, EventKind, ObjectEvent, ObjectInfo, Origin

_ORIGIN_TRIGGER, _ORIGIN_DEPTH = "yun-origin-trigger", "yun-origin-depth"


@dataclass(frozen=True, slots=True)
class Notified:
    event: ObjectEvent
    # Whether the record carried the object's metadata (MinIO does, AWS does not); without
    # it the origin is unknown until the object is read.
    has_metadata: bool


def parse_notification(body: bytes, tenant: str, bucket: str, physical: str,
                       data_prefix: str) -> tuple[list[Notified], int]:
    """The events for `tenant`'s `bucket` (stored under `data_prefix` of the physical bucket
    `physical`), and how many records were ignored."""
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise InvalidRequest(f"an S3 notification must be JSON: {exc}") from None
    records = raw.get("Records") if isinstance(raw, dict) else None
    if not isinstance(records, list):
        raise InvalidRequest("an S3 notification must be an object with a 'Records' list")
    found: list[Notified] = []
    for record in records:
        notified = _event(record, tenant, bucket, physical, data_prefix)
        if notified is not None:
            found.append(notified)
    return found, len(records) - len(found)


def _event(record: object, tenant: str, bucket: str, physical: str,
           data_prefix: str) -> Notified | None:
    if not isinstance(record, dict):
        return None
    name = str(record.get("eventName", ""))
    kind: EventKind
    if "ObjectCreated" in name:
        kind = "created"
    elif "ObjectRemoved" in name:
        kind = "deleted"
    else:
        return None
    s3: dict[str, Any] = record.get("s3") or {}
    if (s3.get("bucket") or {}).get("name") != physical:
        return None
    item: dict[str, Any] = s3.get("object") or {}
    full = unquote_plus(str(item.get("key", "")))  # keys arrive form-encoded
    if not full.startswith(data_prefix) or full == data_prefix:
        return None
    metadata = item.get("userMetadata")
    stored = _metadata(metadata) if isinstance(metadata, Mapping) else {}
    trigger, depth = stored.pop(_ORIGIN_TRIGGER, None), stored.pop(_ORIGIN_DEPTH, None)
    origin = Origin(trigger, int(depth)) if trigger and depth and depth.isdigit() else None
    info = ObjectInfo(bucket, full[len(data_prefix):], int(item.get("size") or 0),
                      str(item.get("eTag") or "").strip('"'),
                      str(item.get("contentType") or DEFAULT_CONTENT_TYPE),
                      _epoch(record.get("eventTime")), stored, origin)  # fmt: skip
    return Notified(ObjectEvent(tenant, kind, info), isinstance(metadata, Mapping))


def _metadata(raw: Mapping[str, object]) -> dict[str, str]:
    """MinIO sends `X-Amz-Meta-Name` keys (and a few plain headers): the user metadata only."""
    prefix = "x-amz-meta-"
    return {k.lower()[len(prefix):]: str(v) for k, v in raw.items()
            if k.lower().startswith(prefix)}  # fmt: skip


def _epoch(value: object) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
