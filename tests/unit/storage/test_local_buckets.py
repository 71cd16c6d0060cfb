"""What only the local folder backend does: its layout, key collisions, crash repair, events."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from yun.core import Conflict
from yun.storage import LocalBuckets, ObjectEvent


async def test_objects_are_plain_files_under_tenant_and_bucket(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "images/cat.jpg", b"meow")
    assert (tmp_path / "acme" / "uploads" / "images" / "cat.jpg").read_bytes() == b"meow"
    assert list((tmp_path / ".tmp").iterdir()) == []  # no partial writes left behind


async def test_a_key_that_collides_with_a_folder_is_a_conflict(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "a/b", b"1")
    with pytest.raises(Conflict, match="'a' collides"):
        await buckets.put("acme", "uploads", "a", b"2")
    await buckets.put("acme", "uploads", "c", b"3")
    with pytest.raises(Conflict, match="'c/d' collides"):
        await buckets.put("acme", "uploads", "c/d", b"4")


async def test_deleting_the_last_key_of_a_folder_frees_the_name(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "a/b/c", b"1")
    await buckets.delete("acme", "uploads", "a/b/c")
    await buckets.put("acme", "uploads", "a", b"now a file")
    assert (await buckets.head("acme", "uploads", "a")).size == 10


async def test_a_sidecar_that_does_not_match_its_file_is_rebuilt(tmp_path: Path) -> None:
    """A crash between the sidecar's rename and the data's leaves them disagreeing."""
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "k", b"old", content_type="text/plain")
    (tmp_path / "acme" / "uploads" / "k").write_bytes(b"newer")
    info = await buckets.head("acme", "uploads", "k")
    assert (info.size, info.etag) == (5, hashlib.md5(b"newer").hexdigest())
    assert info.content_type == "application/octet-stream"


async def test_the_sidecar_keeps_type_metadata_and_origin(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "k", b"x", content_type="text/plain",
                      metadata={"a": "1"})  # fmt: skip
    sidecar = json.loads((tmp_path / ".meta" / "acme" / "uploads" / "k").read_text())
    assert sidecar["content_type"] == "text/plain" and sidecar["metadata"] == {"a": "1"}
    assert sidecar["size"] == 1 and sidecar["mtime_ns"] == os.stat(
        tmp_path / "acme" / "uploads" / "k").st_mtime_ns


async def test_every_put_and_delete_emits_an_event_after_it_is_stored(tmp_path: Path) -> None:
    seen: list[tuple[str, str, str, bool]] = []
    buckets = LocalBuckets(tmp_path)

    async def on_event(event: ObjectEvent) -> None:
        stored = (tmp_path / "acme" / "uploads" / event.object.key).exists()
        seen.append((event.tenant, event.kind, event.object.etag, stored))

    buckets.on_event = on_event
    await buckets.create_bucket("acme", "uploads")
    put = await buckets.put("acme", "uploads", "k", b"x")
    await buckets.delete("acme", "uploads", "k")
    assert seen == [("acme", "created", put.etag, True), ("acme", "deleted", put.etag, False)]


async def test_a_get_streams_the_version_it_described(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "k", b"first")
    info, stream = await buckets.get("acme", "uploads", "k")
    await buckets.put("acme", "uploads", "k", b"second version")
    assert b"".join([c async for c in stream]) == b"first"
    assert info.etag == hashlib.md5(b"first").hexdigest()


async def test_force_deleting_a_bucket_emits_a_deleted_event_per_object(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    async def on_event(event: ObjectEvent) -> None:
        seen.append((event.kind, event.object.key))

    buckets = LocalBuckets(tmp_path)
    await buckets.create_bucket("acme", "uploads")
    for key in ("a", "b/c"):
        await buckets.put("acme", "uploads", key, b"x")
    buckets.on_event = on_event
    await buckets.delete_bucket("acme", "uploads", force=True)
    assert seen == [("deleted", "a"), ("deleted", "b/c")]


async def test_partial_writes_left_by_a_crash_are_removed_at_start(tmp_path: Path) -> None:
    LocalBuckets(tmp_path)
    (tmp_path / ".tmp" / "0123abcd").write_bytes(b"half an object")
    LocalBuckets(tmp_path)
    assert list((tmp_path / ".tmp").iterdir()) == []
