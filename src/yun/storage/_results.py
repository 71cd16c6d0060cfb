"""Bucket destinations of async invocations: `async: {on_success: yun://results/thumbs/}`.

The dispatcher hands each destination record (Lambda's shape: request context, request
payload, response or error) to `ResultWriter.write_result`, which stores it as a JSON object.
Written again after a crash, the record lands under the same key with the same content: one
object, and (same etag) one event.
"""

from __future__ import annotations

import json

from yun.core._triggers import parse_bucket_destination
from yun.storage._buckets import Buckets, ObjectInfo, Origin

__all__ = ["ResultWriter", "parse_bucket_destination"]


class ResultWriter:
    def __init__(self, buckets: Buckets) -> None:
        self.buckets = buckets

    async def write_result(self, tenant: str, bucket: str, key: str, body: bytes) -> ObjectInfo:
        return await self.buckets.put(tenant, bucket, key, body, content_type="application/json",
                                      origin=_origin_of(body))  # fmt: skip


def _origin_of(record: bytes) -> Origin | None:
    """The origin of the invocation the record is about, when a bucket event started it: the
    record then counts as that invocation's own write, so a destination in the triggering
    bucket is covered by the loop guard like any other write."""
    try:
        payload = json.loads(record).get("requestPayload")
        trigger, depth = payload["yuntrigger"], payload["yundepth"]
        return Origin(str(trigger), int(depth))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
