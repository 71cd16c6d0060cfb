"""`/v1/buckets`: buckets and their objects, for the key's own tenant.

Object bodies stream both ways (never held whole in memory); a body past `max_object_bytes`
is refused with 413, before reading when Content-Length says so. User metadata travels as
`x-yun-meta-<name>` headers, as S3's `x-amz-meta-`.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

import dataclasses
from collections.abc import Callable
from email.utils import formatdate
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from yun.core import PayloadTooLarge
from yun.events import BucketSource
from yun.gateway import QuotaBook
from yun.storage import MAX_OBJECT_BYTES, BucketInfo, Buckets, ObjectInfo
from yun.storage._limits import mib
from yun.store import ApiKey

Json = dict[str, object]
_META = "x-yun-meta-"


class NewBucket(BaseModel):
    name: str


def bucket_view(info: BucketInfo) -> Json:
    return {"name": info.name, "created": info.created}


def object_view(info: ObjectInfo) -> Json:
    return {"key": info.key, "size": info.size, "etag": info.etag,
            "content_type": info.content_type, "modified": info.modified,
            "metadata": dict(info.metadata)}  # fmt: skip


def buckets_router(buckets: Buckets, caller: Callable[..., Any],
                   max_object_bytes: int = MAX_OBJECT_BYTES,
                   source: BucketSource | None = None,
                   quotas: QuotaBook | None = None) -> APIRouter:
    Caller = Annotated[ApiKey, Depends(caller)]
    router = APIRouter(prefix="/v1/buckets", tags=["buckets"])

    @router.post("", status_code=201)
    async def create_bucket(body: NewBucket, key: Caller) -> Json:
        if quotas is not None:
            count = len(await buckets.list_buckets(key.tenant)) + 1
            refusal = quotas.check_bucket_create(key.tenant, count)
            if refusal is not None:
                raise refusal.error()
        return bucket_view(await buckets.create_bucket(key.tenant, body.name))

    @router.get("")
    async def list_buckets(key: Caller) -> Json:
        return {"buckets": [bucket_view(b) for b in await buckets.list_buckets(key.tenant)]}

    @router.get("/{bucket}")
    async def get_bucket(bucket: str, key: Caller) -> Json:
        """With the token an S3-compatible store's notification webhook must send."""
        info = await buckets.bucket(key.tenant, bucket)
        return {**bucket_view(info), "events_token": info.events_token,
                "events_url": f"/v1/hooks/buckets/{key.tenant}/{bucket}"}  # fmt: skip

    @router.delete("/{bucket}", status_code=204)
    async def delete_bucket(bucket: str, key: Caller, force: bool = False) -> Response:
        await buckets.delete_bucket(key.tenant, bucket, force)
        return Response(status_code=204)

    @router.get("/{bucket}/refusals")
    async def list_refusals(bucket: str, key: Caller) -> Json:
        """Events of this bucket the loop guard refused (newest last, the last 100 of the
        tenant): a chain of bucket-triggered invocations grew past its depth limit."""
        await buckets.bucket(key.tenant, bucket)
        found = source.refusals(key.tenant) if source is not None else []
        return {"refusals": [dataclasses.asdict(r) for r in found if r.bucket == bucket]}

    @router.get("/{bucket}/objects")
    async def list_objects(bucket: str, key: Caller, prefix: str = "", delimiter: str = "",
                           limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
                           token: str | None = None) -> Json:
        found = await buckets.list(key.tenant, bucket, prefix=prefix, delimiter=delimiter,
                                   limit=limit, token=token)  # fmt: skip
        return {"objects": [object_view(o) for o in found.objects],
                "prefixes": found.prefixes, "next_token": found.next_token}  # fmt: skip

    @router.put("/{bucket}/objects/{object_key:path}", status_code=201,
                openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}}})
    async def put_object(bucket: str, object_key: str, request: Request, key: Caller) -> Json:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_object_bytes:
            raise PayloadTooLarge(f"object {object_key!r} of {int(declared)} bytes exceeds the "
                                  f"{mib(max_object_bytes)} limit")  # fmt: skip
        metadata = {h[len(_META):]: v for h, v in request.headers.items() if h.startswith(_META)}
        content_type = request.headers.get("content-type") or "application/octet-stream"
        info = await buckets.put(key.tenant, bucket, object_key, request.stream(),
                                 content_type=content_type, metadata=metadata,
                                 max_bytes=max_object_bytes)  # fmt: skip
        return object_view(info)

    @router.get("/{bucket}/objects/{object_key:path}")
    async def get_object(bucket: str, object_key: str, key: Caller) -> Response:
        info, chunks = await buckets.get(key.tenant, bucket, object_key)
        return StreamingResponse(chunks, media_type=info.content_type, headers=_headers(info))

    @router.head("/{bucket}/objects/{object_key:path}")
    async def head_object(bucket: str, object_key: str, key: Caller) -> Response:
        info = await buckets.head(key.tenant, bucket, object_key)
        return Response(status_code=200, media_type=info.content_type, headers=_headers(info))

    @router.delete("/{bucket}/objects/{object_key:path}", status_code=204)
    async def delete_object(bucket: str, object_key: str, key: Caller) -> Response:
        await buckets.delete(key.tenant, bucket, object_key)
        return Response(status_code=204)

    return router


def _headers(info: ObjectInfo) -> dict[str, str]:
    headers = {"etag": f'"{info.etag}"', "content-length": str(info.size),
               "last-modified": formatdate(info.modified, usegmt=True)}  # fmt: skip
    headers.update({f"{_META}{name}": value for name, value in info.metadata.items()})
    return headers
