"""The `Buckets` contract every backend (local folder, S3-compatible) fulfils, and the values
that cross it. The shared conformance suite is `tests/conformance/test_buckets_conformance.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

MAX_OBJECT_BYTES = 5 << 30  # one PUT, as S3's single-request limit
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_LIST = 1000  # objects plus prefixes per page, as S3


@dataclass(frozen=True, slots=True)
class Origin:
    """Who wrote an object: the trigger whose invocation wrote it, and how many bucket events
    led to that invocation (the loop guard in `yun.events` reads both)."""

    trigger: str
    depth: int


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # MD5 of the content, hex
    content_type: str
    modified: float  # wall clock, seconds
    metadata: Mapping[str, str] = field(default_factory=dict)
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created: float
    # Authenticates the S3-compatible store's notification webhook for this bucket.
    events_token: str


@dataclass(frozen=True, slots=True)
class Listing:
    objects: list[ObjectInfo]
    prefixes: list[str]  # common prefixes, when listed with a delimiter
    next_token: str | None  # pass back as `token` for the next page; None at the end


EventKind = Literal["created", "deleted"]


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    tenant: str
    kind: EventKind
    object: ObjectInfo  # for `deleted`: what the object was


OnEvent = Callable[[ObjectEvent], Awaitable[None]]
Body = bytes | AsyncIterable[bytes]


class Buckets(Protocol):
    """Tenant-scoped buckets. Another tenant's bucket is `NotFound`, exactly as a missing one.

    Errors: `InvalidRequest` for bad names, keys or metadata; `NotFound` for a missing bucket
    or object; `Conflict` for an existing bucket, a non-empty one on delete, or (local folder
    only) a key that collides with a folder of other keys; `PayloadTooLarge` past `max_bytes`.
    """

    async def create_bucket(self, tenant: str, bucket: str) -> BucketInfo: ...

    async def bucket(self, tenant: str, bucket: str) -> BucketInfo: ...

    async def list_buckets(self, tenant: str) -> list[BucketInfo]: ...

    async def delete_bucket(self, tenant: str, bucket: str, force: bool = False) -> None:
        """Refuses a bucket with objects in it (`Conflict`) unless `force`."""
        ...

    async def put(self, tenant: str, bucket: str, key: str, body: Body, *,
                  content_type: str = DEFAULT_CONTENT_TYPE,
                  metadata: Mapping[str, str] | None = None, origin: Origin | None = None,
                  max_bytes: int = MAX_OBJECT_BYTES) -> ObjectInfo:
        """Readers see the old object or the whole new one, never a part."""
        ...

    async def head(self, tenant: str, bucket: str, key: str) -> ObjectInfo: ...

    async def get(self, tenant: str, bucket: str,
                  key: str) -> tuple[ObjectInfo, AsyncIterator[bytes]]: ...

    async def delete(self, tenant: str, bucket: str, key: str) -> ObjectInfo:
        """Removes the object and returns what it was; `NotFound` if there was none."""
        ...

    async def list(self, tenant: str, bucket: str, *, prefix: str = "", delimiter: str = "",
                   limit: int = MAX_LIST, token: str | None = None) -> Listing:
        """Keys in UTF-8 byte order. Listed objects carry key, size, etag and modified; their
        content type and metadata come from `head`/`get` (S3 listings do not include them)."""
        ...

    async def close(self) -> None: ...


async def chunks_of(body: Body) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        yield body
        return
    async for chunk in body:
        yield chunk
