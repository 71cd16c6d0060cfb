"""Buckets on any S3-compatible store (MinIO, Ceph, AWS, moto), through boto3 in threads.

Every tenant's buckets share one physical bucket, named by `YUN_BUCKETS_URL`
(`s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=REGION`):

    PREFIX/.buckets/<tenant>/<bucket>        a JSON record per bucket: created, events token
    PREFIX/data/<tenant>/<bucket>/<key>      the objects, with their own content type and
                                             metadata; the origin as `yun-origin-*` metadata

so one notification webhook on the physical bucket covers every Yun bucket, and the store's
own listing (prefix, delimiter, continuation tokens) does the work. Credentials come from
`YUN_BUCKETS_ACCESS_KEY` / `YUN_BUCKETS_SECRET_KEY`, else boto3's usual chain (`AWS_*`).

Object events are not emitted here: the store sends them to the notification webhook
(`storage.parse_notification`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from yun.core import Conflict, InvalidRequest, NotFound, PayloadTooLarge, PlatformError
from yun.storage._buckets import (
    DEFAULT_CONTENT_TYPE,
    MAX_LIST,
    MAX_OBJECT_BYTES,
    Body,
    BucketInfo,
    Listing,
    ObjectInfo,
    Origin,
    chunks_of,
)
from yun.storage._limits import mib
from yun.storage._object_names import (
    check_bucket_name,
    check_content_type,
    check_key,
    check_metadata,
)

_CHUNK = 256 << 10
_SPOOL_IN_MEMORY = 8 << 20  # larger bodies spool to a temporary file before the upload
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_ORIGIN_TRIGGER, _ORIGIN_DEPTH = "yun-origin-trigger", "yun-origin-depth"
T = TypeVar("T")


class S3Buckets:
    def __init__(self, client: Any, physical: str, prefix: str = "") -> None:
        """`client` is a boto3 S3 client (thread-safe; every call runs in a worker thread)."""
        self.client = client
        self.physical = physical
        self.base = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str]) -> S3Buckets:
        # Imported here: boto3 takes ~0.1 s to import, and most processes (the CLI, the
        # embedded profile) never talk to S3.
        import boto3
        from botocore.config import Config as BotoConfig

        physical, prefix, endpoint, region = parse_buckets_url(url)
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name=region,
            aws_access_key_id=environ.get("YUN_BUCKETS_ACCESS_KEY"),
            aws_secret_access_key=environ.get("YUN_BUCKETS_SECRET_KEY"),
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"},
                              connect_timeout=5, read_timeout=30),
        )  # fmt: skip
        return cls(client, physical, prefix)

    async def open(self) -> None:
        """Create the physical bucket if it is missing (a fresh MinIO or moto)."""
        try:
            await self._call(self.client.head_bucket, Bucket=self.physical)
        except NotFound:
            await self._call(self.client.create_bucket, Bucket=self.physical)

    def data_prefix(self, tenant: str, bucket: str) -> str:
        return f"{self.base}data/{tenant}/{bucket}/"

    # --- buckets -----------------------------------------------------------------------

    async def create_bucket(self, tenant: str, bucket: str) -> BucketInfo:
        check_bucket_name(bucket)
        try:
            await self.bucket(tenant, bucket)
        except NotFound:
            pass
        else:
            raise Conflict(f"bucket {bucket!r} already exists")
        info = BucketInfo(bucket, time.time(), secrets.token_urlsafe(24))
        record = json.dumps({"created": info.created, "events_token": info.events_token})
        await self._call(self.client.put_object, Bucket=self.physical,
                         Key=self._record(tenant, bucket), Body=record.encode(),
                         ContentType="application/json")  # fmt: skip
        return info

    async def bucket(self, tenant: str, bucket: str) -> BucketInfo:
        check_bucket_name(bucket)
        try:
            got = await self._call(self.client.get_object, Bucket=self.physical,
                                   Key=self._record(tenant, bucket))  # fmt: skip
        except NotFound:
            raise _no_bucket(bucket) from None
        raw = json.loads(await asyncio.to_thread(got["Body"].read))
        return BucketInfo(bucket, float(raw["created"]), str(raw["events_token"]))

    async def list_buckets(self, tenant: str) -> list[BucketInfo]:
        prefix = f"{self.base}.buckets/{tenant}/"
        names: list[str] = []
        token: str | None = None
        while True:
            page = await self._list_raw(prefix, "", MAX_LIST, token)
            names += [item["Key"][len(prefix):] for item in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                break
        return [await self.bucket(tenant, name) for name in sorted(names)]

    async def delete_bucket(self, tenant: str, bucket: str, force: bool = False) -> None:
        await self.bucket(tenant, bucket)
        prefix = self.data_prefix(tenant, bucket)
        while True:
            page = await self._list_raw(prefix, "", MAX_LIST, None)
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not keys:
                break
            if not force:
                raise Conflict(f"bucket {bucket!r} is not empty: delete its objects first, "
                               f"or delete it with force")  # fmt: skip
            await self._call(self.client.delete_objects, Bucket=self.physical,
                             Delete={"Objects": keys, "Quiet": True})  # fmt: skip
        await self._call(self.client.delete_object, Bucket=self.physical,
                         Key=self._record(tenant, bucket))  # fmt: skip

    # --- objects -----------------------------------------------------------------------

    async def put(self, tenant: str, bucket: str, key: str, body: Body, *,
                  content_type: str = DEFAULT_CONTENT_TYPE,
                  metadata: Mapping[str, str] | None = None, origin: Origin | None = None,
                  max_bytes: int = MAX_OBJECT_BYTES) -> ObjectInfo:
        check_key(key)
        check_content_type(content_type)
        meta = check_metadata(metadata or {})
        await self.bucket(tenant, bucket)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        # Spooled, because S3 needs the length (and the MD5) before the first byte.
        with tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as spool:
            async for chunk in chunks_of(body):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"object {key!r} exceeds the {mib(max_bytes)} limit")
                digest.update(chunk)
                spool.write(chunk)
            spool.seek(0)
            stored = dict(meta)
            if origin is not None:
                stored |= {_ORIGIN_TRIGGER: origin.trigger, _ORIGIN_DEPTH: str(origin.depth)}
            await self._call(
                self.client.put_object, Bucket=self.physical,
                Key=self.data_prefix(tenant, bucket) + key, Body=spool,
                ContentType=content_type, Metadata=stored, ContentLength=size,
                ContentMD5=base64.b64encode(digest.digest()).decode(),
            )  # fmt: skip
        return ObjectInfo(bucket, key, size, digest.hexdigest(), content_type, time.time(),
                          meta, origin)  # fmt: skip

    async def head(self, tenant: str, bucket: str, key: str) -> ObjectInfo:
        check_key(key)
        await self.bucket(tenant, bucket)
        try:
            got = await self._call(self.client.head_object, Bucket=self.physical,
                                   Key=self.data_prefix(tenant, bucket) + key)  # fmt: skip
        except NotFound:
            raise _no_object(bucket, key) from None
        return _info(bucket, key, got)

    async def get(self, tenant: str, bucket: str,
                  key: str) -> tuple[ObjectInfo, AsyncIterator[bytes]]:
        check_key(key)
        await self.bucket(tenant, bucket)
        try:
            got = await self._call(self.client.get_object, Bucket=self.physical,
                                   Key=self.data_prefix(tenant, bucket) + key)  # fmt: skip
        except NotFound:
            raise _no_object(bucket, key) from None
        stream = got["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(stream.read, _CHUNK):
                    yield chunk
            finally:
                stream.close()

        return _info(bucket, key, got), chunks()

    async def delete(self, tenant: str, bucket: str, key: str) -> ObjectInfo:
        info = await self.head(tenant, bucket, key)
        await self._call(self.client.delete_object, Bucket=self.physical,
                         Key=self.data_prefix(tenant, bucket) + key)  # fmt: skip
        return info

    async def list(self, tenant: str, bucket: str, *, prefix: str = "", delimiter: str = "",
                   limit: int = MAX_LIST, token: str | None = None) -> Listing:
        await self.bucket(tenant, bucket)
        if not 1 <= limit <= MAX_LIST:
            raise InvalidRequest(f"list limit must be 1..{MAX_LIST}, was: {limit}")
        base = self.data_prefix(tenant, bucket)
        page = await self._list_raw(base + prefix, delimiter, limit, token)
        objects = [
            ObjectInfo(bucket, item["Key"][len(base):], int(item["Size"]),
                       str(item["ETag"]).strip('"'), DEFAULT_CONTENT_TYPE,
                       item["LastModified"].timestamp())
            for item in page.get("Contents", [])
        ]  # fmt: skip
        prefixes = [p["Prefix"][len(base):] for p in page.get("CommonPrefixes", [])]
        return Listing(objects, prefixes, page.get("NextContinuationToken") or None)

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)

    # --- helpers -----------------------------------------------------------------------

    def _record(self, tenant: str, bucket: str) -> str:
        return f"{self.base}.buckets/{tenant}/{bucket}"

    async def _list_raw(self, prefix: str, delimiter: str, limit: int,
                        token: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.physical, "Prefix": prefix, "MaxKeys": limit}
        if delimiter:
            args["Delimiter"] = delimiter
        if token:
            args["ContinuationToken"] = token
        return await self._call(self.client.list_objects_v2, **args)

    async def _call(self, method: Callable[..., T], **kwargs: Any) -> T:
        """One boto3 call in a worker thread, its failures mapped to ours."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(method, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in _NOT_FOUND:
                raise NotFound(f"not found in the S3 store: {kwargs.get('Key', self.physical)}"
                               ) from exc  # fmt: skip
            if code in ("InvalidArgument", "InvalidToken"):
                raise InvalidRequest(f"the S3 store refused the request: {error.get('Message')}"
                                     ) from exc  # fmt: skip
            raise PlatformError(f"S3 store error {code}: {error.get('Message')}") from exc
        except BotoCoreError as exc:
            raise PlatformError(f"S3 store unreachable: {exc}") from exc


def parse_buckets_url(url: str) -> tuple[str, str, str | None, str | None]:
    """`s3://BUCKET[/PREFIX]?endpoint=URL&region=NAME` -> (bucket, prefix, endpoint, region)."""
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"endpoint", "region"})
    if parts.scheme != "s3" or not parts.netloc or unknown:
        raise InvalidRequest(f"invalid YUN_BUCKETS_URL {url!r}: expected "
                             f"s3://BUCKET[/PREFIX][?endpoint=http://HOST:PORT&region=NAME]")
    return parts.netloc, parts.path.strip("/"), query.get("endpoint"), query.get("region")


def _info(bucket: str, key: str, got: Mapping[str, Any]) -> ObjectInfo:
    stored: dict[str, str] = dict(got.get("Metadata") or {})
    trigger, depth = stored.pop(_ORIGIN_TRIGGER, None), stored.pop(_ORIGIN_DEPTH, None)
    origin = Origin(trigger, int(depth)) if trigger and depth and depth.isdigit() else None
    return ObjectInfo(bucket, key, int(got["ContentLength"]), str(got["ETag"]).strip('"'),
                      str(got.get("ContentType") or DEFAULT_CONTENT_TYPE),
                      got["LastModified"].timestamp(), stored, origin)  # fmt: skip


def _no_bucket(bucket: str) -> NotFound:
    return NotFound(f"bucket {bucket!r} not found")


def _no_object(bucket: str, key: str) -> NotFound:
    return NotFound(f"object {key!r} not found in bucket {bucket!r}")
