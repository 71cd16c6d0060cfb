"""`POST /v1/hooks/buckets/{tenant}/{bucket}`: the notification webhook of an S3-compatible
store (MinIO's `notify_webhook`, Ceph's HTTP push endpoint), one URL per Yun bucket.

No API key: the store authenticates with the bucket's events token (`GET /v1/buckets/NAME`
shows it), as `Authorization: Bearer TOKEN` (MinIO's `auth_token`) or `?token=`. A missing
bucket, another tenant's, and a wrong token all get the same 401. An answer other than 200
makes the store send the notification again; the events' dedupe keys absorb the repeat.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

import dataclasses
import hmac

from fastapi import APIRouter, Request

from yun.core import InvalidRequest, NotFound, PayloadTooLarge, Unauthorized
from yun.events import BucketSource
from yun.storage import ObjectEvent, S3Buckets, parse_notification

Json = dict[str, object]
MAX_NOTIFICATION_BYTES = 1 << 20


def bucket_hooks_router(buckets: S3Buckets, source: BucketSource) -> APIRouter:
    router = APIRouter(prefix="/v1/hooks/buckets", tags=["buckets"])

    @router.post("/{tenant}/{bucket}",
                 openapi_extra={"requestBody": {"content": {"application/json": {}}}})
    async def notify(tenant: str, bucket: str, request: Request,
                     token: str | None = None) -> Json:
        given = token or request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            expected = (await buckets.bucket(tenant, bucket)).events_token
        except (NotFound, InvalidRequest):
            expected = ""
        if not (expected and given and hmac.compare_digest(given.encode(), expected.encode())):
            raise Unauthorized("bucket notifications need the bucket's events token, as "
                               "'Authorization: Bearer TOKEN' or ?token=")  # fmt: skip
        body = await _read(request)
        notified, ignored = parse_notification(body, tenant, bucket, buckets.physical,
                                               buckets.data_prefix(tenant, bucket))
        for item in notified:
            event = item.event
            if event.kind == "created" and not item.has_metadata:
                event = await _with_origin(buckets, event)
            await source.deliver(event)
        return {"accepted": len(notified), "ignored": ignored}

    return router


async def _with_origin(buckets: S3Buckets, event: ObjectEvent) -> ObjectEvent:
    """The record lacks the object's metadata (AWS): read it, if the object is still the
    one the record is about."""
    try:
        stored = await buckets.head(event.tenant, event.object.bucket, event.object.key)
    except NotFound:
        return event
    if stored.etag != event.object.etag:
        return event
    return dataclasses.replace(event, object=stored)


async def _read(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_NOTIFICATION_BYTES:
            raise PayloadTooLarge(f"a bucket notification is limited to "
                                  f"{MAX_NOTIFICATION_BYTES} bytes")  # fmt: skip
        chunks.append(chunk)
    return b"".join(chunks)
