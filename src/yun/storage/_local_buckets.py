"""Buckets in a local folder (the embedded profile).

Layout under `root` (`<data dir>/buckets`); tenant names cannot start with '.', so the
three bookkeeping folders never meet a tenant's:

    <tenant>/<bucket>/<key>          the objects, as plain files
    .meta/<tenant>/<bucket>/<key>    a JSON sidecar per object: etag, type, metadata, origin
    .buckets/<tenant>/<bucket>       one JSON file per bucket: created, events token
    .tmp/                            partial writes, renamed into place when complete

A key is a path, so `a` and `a/b` cannot both exist here (S3 allows it): the second write
is a `Conflict` naming both. Listing walks the folder, so it costs O(objects under the
prefix's folder) per page: fine for the embedded profile, not for millions of objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from yun.core import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from yun.storage._buckets import (
    DEFAULT_CONTENT_TYPE,
    MAX_LIST,
    MAX_OBJECT_BYTES,
    Body,
    BucketInfo,
    EventKind,
    Listing,
    ObjectEvent,
    ObjectInfo,
    OnEvent,
    Origin,
    chunks_of,
)
from yun.storage._fs import remove_tree
from yun.storage._limits import mib
from yun.storage._listing import page
from yun.storage._object_names import (
    check_bucket_name,
    check_content_type,
    check_key,
    check_metadata,
)

_CHUNK = 256 << 10


class LocalBuckets:
    def __init__(self, root: Path, on_event: OnEvent | None = None) -> None:
        self.root = root
        self.on_event = on_event
        for folder in (".meta", ".buckets", ".tmp"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        # Only a put in flight has a file here: at start, these are what a crash left.
        for partial in (root / ".tmp").iterdir():
            partial.unlink(missing_ok=True)
        # One writer per key at a time in this process, so a sidecar always describes the
        # file beside it (two puts racing could otherwise pair one's data with the other's).
        self._locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # --- buckets -----------------------------------------------------------------------

    async def create_bucket(self, tenant: str, bucket: str) -> BucketInfo:
        check_bucket_name(bucket)
        info = BucketInfo(bucket, time.time(), secrets.token_urlsafe(24))
        record = self._bucket_record(tenant, bucket)
        record.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise Conflict(f"bucket {bucket!r} already exists") from None
        with os.fdopen(fd, "w") as handle:
            json.dump({"created": info.created, "events_token": info.events_token}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        self._data(tenant, bucket).mkdir(parents=True, exist_ok=True)
        _fsync_dir(record.parent)
        return info

    async def bucket(self, tenant: str, bucket: str) -> BucketInfo:
        check_bucket_name(bucket)
        try:
            raw = json.loads(self._bucket_record(tenant, bucket).read_text())
        except FileNotFoundError:
            raise _no_bucket(bucket) from None
        return BucketInfo(bucket, float(raw["created"]), str(raw["events_token"]))

    async def list_buckets(self, tenant: str) -> list[BucketInfo]:
        folder = self.root / ".buckets" / tenant
        names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        return [await self.bucket(tenant, name) for name in names]

    async def delete_bucket(self, tenant: str, bucket: str, force: bool = False) -> None:
        await self.bucket(tenant, bucket)
        data = self._data(tenant, bucket)
        keys = sorted(await asyncio.to_thread(_files, data))
        if keys and not force:
            raise Conflict(f"bucket {bucket!r} is not empty: delete its objects first, or "
                           f"delete it with force")  # fmt: skip
        gone = []
        if self.on_event is not None:  # what the objects were, for their `deleted` events
            for key in keys:
                with contextlib.suppress(NotFound):
                    gone.append(await self.head(tenant, bucket, key))
        # The record goes last: a crash half-way leaves a bucket that can be deleted again.
        await asyncio.to_thread(remove_tree, data)
        await asyncio.to_thread(remove_tree, self._meta(tenant, bucket))
        self._bucket_record(tenant, bucket).unlink(missing_ok=True)
        for info in gone:
            await self._emit(tenant, "deleted", info)

    # --- objects -----------------------------------------------------------------------

    async def put(self, tenant: str, bucket: str, key: str, body: Body, *,
                  content_type: str = DEFAULT_CONTENT_TYPE,
                  metadata: Mapping[str, str] | None = None, origin: Origin | None = None,
                  max_bytes: int = MAX_OBJECT_BYTES) -> ObjectInfo:
        check_key(key)
        check_content_type(content_type)
        meta = check_metadata(metadata or {})
        await self.bucket(tenant, bucket)
        partial = self.root / ".tmp" / secrets.token_hex(8)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with open(partial, "xb") as handle:
                async for chunk in chunks_of(body):
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(f"object {key!r} exceeds the {mib(max_bytes)} "
                                              f"limit")  # fmt: skip
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                await asyncio.to_thread(os.fsync, handle.fileno())
                stat = os.fstat(handle.fileno())
            info = ObjectInfo(bucket, key, size, digest.hexdigest(), content_type,
                              stat.st_mtime_ns / 1e9, meta, origin)
            sidecar = {"size": size, "mtime_ns": stat.st_mtime_ns, **_info_json(info)}
            async with self._lock(tenant, bucket, key):
                await asyncio.to_thread(self._commit, tenant, bucket, key, partial, sidecar)
        finally:
            partial.unlink(missing_ok=True)
            partial.with_name(f"{partial.name}.meta").unlink(missing_ok=True)
        await self._emit(tenant, "created", info)
        return info

    def _commit(self, tenant: str, bucket: str, key: str, partial: Path,
                sidecar: dict[str, Any]) -> None:
        """The sidecar, then the data. A crash between the two renames leaves a sidecar that
        does not match the file's size and mtime; readers notice and rebuild it."""
        target, meta = self._data(tenant, bucket) / key, self._meta(tenant, bucket) / key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            meta.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                raise IsADirectoryError(errno.EISDIR, "is a folder")
            _write_json(partial.with_name(f"{partial.name}.meta"), sidecar, meta)
            os.replace(partial, target)
        except (NotADirectoryError, FileExistsError, IsADirectoryError):
            raise Conflict(f"object key {key!r} collides with another key in bucket "
                           f"{bucket!r}: local buckets store keys as paths, so 'a' and "
                           f"'a/b' cannot both exist") from None  # fmt: skip
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise InvalidRequest(f"invalid object key {key!r}: a '/'-separated part is "
                                     f"longer than 255 bytes") from None  # fmt: skip
            raise
        _fsync_dir(target.parent)

    async def head(self, tenant: str, bucket: str, key: str) -> ObjectInfo:
        check_key(key)
        await self.bucket(tenant, bucket)
        try:
            with open(self._data(tenant, bucket) / key, "rb") as handle:
                return await self._describe(tenant, bucket, key, handle.fileno())
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise _no_object(bucket, key) from None

    async def get(self, tenant: str, bucket: str,
                  key: str) -> tuple[ObjectInfo, AsyncIterator[bytes]]:
        check_key(key)
        await self.bucket(tenant, bucket)
        try:
            # Held open, the file stays the version described even if a put replaces it.
            handle = open(self._data(tenant, bucket) / key, "rb")  # noqa: SIM115
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise _no_object(bucket, key) from None
        try:
            info = await self._describe(tenant, bucket, key, handle.fileno())
        except BaseException:
            handle.close()
            raise

        async def stream() -> AsyncIterator[bytes]:
            with handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk

        return info, stream()

    async def delete(self, tenant: str, bucket: str, key: str) -> ObjectInfo:
        info = await self.head(tenant, bucket, key)
        async with self._lock(tenant, bucket, key):
            data, meta = self._data(tenant, bucket), self._meta(tenant, bucket)
            try:
                (data / key).unlink()
            except FileNotFoundError:
                raise _no_object(bucket, key) from None
            (meta / key).unlink(missing_ok=True)
            _fsync_dir((data / key).parent)
            _prune(data, (data / key).parent)
            _prune(meta, (meta / key).parent)
        await self._emit(tenant, "deleted", info)
        return info

    async def list(self, tenant: str, bucket: str, *, prefix: str = "", delimiter: str = "",
                   limit: int = MAX_LIST, token: str | None = None) -> Listing:
        await self.bucket(tenant, bucket)
        if not 1 <= limit <= MAX_LIST:
            raise InvalidRequest(f"list limit must be 1..{MAX_LIST}, was: {limit}")
        data = self._data(tenant, bucket)
        # Only the folder the prefix names can hold matching keys (when it is a plain path).
        folder = prefix.rpartition("/")[0].split("/")
        plain = "/" in prefix and not any(part in ("", ".", "..") for part in folder)
        start = data.joinpath(*folder) if plain else data
        keys = await asyncio.to_thread(lambda: sorted(_files(start, data)))
        found = page(keys, prefix=prefix, delimiter=delimiter, limit=limit, token=token)
        objects = []
        for key in found.keys:
            with contextlib.suppress(NotFound):  # deleted since the walk
                objects.append(await self.head(tenant, bucket, key))
        return Listing(objects, found.prefixes, found.next_token)

    async def close(self) -> None:
        return None

    # --- helpers -----------------------------------------------------------------------

    async def _describe(self, tenant: str, bucket: str, key: str, fd: int) -> ObjectInfo:
        stat = os.fstat(fd)
        try:
            raw = json.loads((self._meta(tenant, bucket) / key).read_text())
            if raw["size"] == stat.st_size and raw["mtime_ns"] == stat.st_mtime_ns:
                return _info_from(bucket, key, raw)
        except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError):
            pass
        # No sidecar matching the file (a crash between the two renames): rebuild what the
        # content tells, the rest falls back to defaults.
        etag = await asyncio.to_thread(_md5_of, fd)
        return ObjectInfo(bucket, key, stat.st_size, etag, DEFAULT_CONTENT_TYPE,
                          stat.st_mtime_ns / 1e9)  # fmt: skip

    async def _emit(self, tenant: str, kind: EventKind, info: ObjectInfo) -> None:
        # Awaited, not spawned: if the event cannot be queued the caller hears an error and
        # can repeat the write; the event's dedupe key makes the repeat harmless.
        if self.on_event is not None:
            await self.on_event(ObjectEvent(tenant, kind, info))

    def _lock(self, tenant: str, bucket: str, key: str) -> asyncio.Lock:
        lock = self._locks.get((tenant, bucket, key))
        if lock is None:
            lock = self._locks[(tenant, bucket, key)] = asyncio.Lock()
        return lock

    def _data(self, tenant: str, bucket: str) -> Path:
        return self.root / tenant / bucket

    def _meta(self, tenant: str, bucket: str) -> Path:
        return self.root / ".meta" / tenant / bucket

    def _bucket_record(self, tenant: str, bucket: str) -> Path:
        return self.root / ".buckets" / tenant / bucket


def _info_json(info: ObjectInfo) -> dict[str, Any]:
    origin = info.origin
    return {"etag": info.etag, "content_type": info.content_type,
            "metadata": dict(info.metadata),
            "origin": None if origin is None else {"trigger": origin.trigger,
                                                   "depth": origin.depth}}  # fmt: skip


def _info_from(bucket: str, key: str, raw: dict[str, Any]) -> ObjectInfo:
    origin = raw.get("origin")
    return ObjectInfo(bucket, key, int(raw["size"]), str(raw["etag"]), str(raw["content_type"]),
                      int(raw["mtime_ns"]) / 1e9, dict(raw.get("metadata") or {}),
                      Origin(str(origin["trigger"]), int(origin["depth"])) if origin else None)


def _write_json(partial: Path, value: dict[str, Any], target: Path) -> None:
    with open(partial, "w") as handle:
        json.dump(value, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)


def _fsync_dir(folder: Path) -> None:
    """A rename is durable only once its folder is synced."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _files(start: Path, data: Path | None = None) -> list[str]:
    """Keys (paths relative to `data`, default `start`) of the files under `start`."""
    base = data or start
    found = []
    for dirpath, _dirnames, filenames in os.walk(start):
        rel = os.path.relpath(dirpath, base)
        for name in filenames:
            found.append(name if rel == "." else f"{rel}/{name}")
    return found


def _prune(top: Path, folder: Path) -> None:
    """Remove folders left empty by a delete, up to (not including) `top`."""
    while folder != top:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _md5_of(fd: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


def _no_bucket(bucket: str) -> NotFound:
    return NotFound(f"bucket {bucket!r} not found")


def _no_object(bucket: str, key: str) -> NotFound:
    return NotFound(f"object {key!r} not found in bucket {bucket!r}")
