"""Every `Buckets` backend behaves alike: the local folder and S3 (moto's server as the peer)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from yun.core import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from yun.storage import Buckets, LocalBuckets, Origin


@pytest.fixture(params=["local", "s3"])
async def buckets(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Buckets]:
    if request.param == "s3":
        yield request.getfixturevalue("s3_buckets")
    else:
        yield LocalBuckets(tmp_path / "buckets")


async def body_of(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_a_created_bucket_is_listed_and_described(buckets: Buckets) -> None:
    made = await buckets.create_bucket("acme", "uploads")
    assert made.name == "uploads" and len(made.events_token) >= 24
    assert [b.name for b in await buckets.list_buckets("acme")] == ["uploads"]
    assert (await buckets.bucket("acme", "uploads")).events_token == made.events_token


async def test_creating_an_existing_bucket_is_a_conflict(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    with pytest.raises(Conflict, match="'uploads' already exists"):
        await buckets.create_bucket("acme", "uploads")


@pytest.mark.parametrize("name", ["ab", "Uploads", "-up", "up_loads", "a..b", "10.0.0.1",
                                  "x" * 64])
async def test_bad_bucket_names_are_refused_by_name(buckets: Buckets, name: str) -> None:
    with pytest.raises(InvalidRequest, match="invalid bucket name"):
        await buckets.create_bucket("acme", name)


async def test_another_tenants_bucket_is_not_found_like_a_missing_one(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "a.txt", b"secret")
    with pytest.raises(NotFound) as theirs:
        await buckets.head("other", "uploads", "a.txt")
    with pytest.raises(NotFound) as missing:
        await buckets.head("other", "nothing", "a.txt")
    assert str(theirs.value).replace("uploads", "X") == str(missing.value).replace("nothing", "X")
    assert await buckets.list_buckets("other") == []
    with pytest.raises(NotFound):
        await buckets.delete_bucket("other", "uploads", force=True)


async def test_put_then_get_returns_the_bytes_and_their_description(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    data = b"hello " * 1000
    put = await buckets.put("acme", "uploads", "images/cat.jpg", data, content_type="image/jpeg",
                            metadata={"owner": "ann"}, origin=Origin("fn#t1", 2))
    assert put.etag == hashlib.md5(data).hexdigest() and put.size == len(data)
    info, stream = await buckets.get("acme", "uploads", "images/cat.jpg")
    assert await body_of(stream) == data
    for seen in (info, await buckets.head("acme", "uploads", "images/cat.jpg")):
        assert (seen.key, seen.size, seen.etag) == ("images/cat.jpg", len(data), put.etag)
        assert seen.content_type == "image/jpeg"
        assert dict(seen.metadata) == {"owner": "ann"}
        assert seen.origin == Origin("fn#t1", 2)


async def test_a_streamed_put_replaces_the_object_whole(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "k", b"old")

    async def parts() -> AsyncIterator[bytes]:
        for n in range(5):
            yield bytes([65 + n]) * 100_000

    put = await buckets.put("acme", "uploads", "k", parts())
    info, stream = await buckets.get("acme", "uploads", "k")
    data = await body_of(stream)
    assert len(data) == 500_000 and info.etag == put.etag == hashlib.md5(data).hexdigest()
    assert info.content_type == "application/octet-stream" and info.origin is None


async def test_a_put_past_the_limit_is_too_large_and_stores_nothing(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    with pytest.raises(PayloadTooLarge, match="object 'big' exceeds"):
        await buckets.put("acme", "uploads", "big", b"x" * 2000, max_bytes=1000)
    with pytest.raises(NotFound):
        await buckets.head("acme", "uploads", "big")


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/./b", "../up", "dir/", "nul\x00",
                                 "x" * 1025])
async def test_bad_keys_are_refused_naming_the_key(buckets: Buckets, key: str) -> None:
    await buckets.create_bucket("acme", "uploads")
    with pytest.raises(InvalidRequest, match="invalid object key"):
        await buckets.put("acme", "uploads", key, b"x")


async def test_reserved_or_bad_metadata_is_refused(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    with pytest.raises(InvalidRequest, match="'yun-origin-depth'"):
        await buckets.put("acme", "uploads", "k", b"x", metadata={"yun-origin-depth": "0"})
    with pytest.raises(InvalidRequest, match="'Owner'"):
        await buckets.put("acme", "uploads", "k", b"x", metadata={"Owner": "ann"})


async def test_delete_returns_what_was_deleted_and_then_it_is_gone(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    put = await buckets.put("acme", "uploads", "a/b/c.txt", b"abc")
    gone = await buckets.delete("acme", "uploads", "a/b/c.txt")
    assert gone.etag == put.etag
    with pytest.raises(NotFound, match=r"'a/b/c\.txt' not found in bucket 'uploads'"):
        await buckets.get("acme", "uploads", "a/b/c.txt")
    with pytest.raises(NotFound):
        await buckets.delete("acme", "uploads", "a/b/c.txt")
    assert (await buckets.list("acme", "uploads")).objects == []


async def test_a_bucket_with_objects_is_deleted_only_with_force(buckets: Buckets) -> None:
    await buckets.create_bucket("acme", "uploads")
    await buckets.put("acme", "uploads", "a/b", b"1")
    with pytest.raises(Conflict, match="'uploads' is not empty"):
        await buckets.delete_bucket("acme", "uploads")
    await buckets.delete_bucket("acme", "uploads", force=True)
    with pytest.raises(NotFound):
        await buckets.bucket("acme", "uploads")
    await buckets.create_bucket("acme", "uploads")  # the name is free again, and empty
    assert (await buckets.list("acme", "uploads")).objects == []


KEYS = ["a.txt", "img/1.jpg", "img/2.jpg", "img/raw/3.cr2", "logs/2024/x", "logs/2025/y", "z"]


async def filled(buckets: Buckets) -> Buckets:
    await buckets.create_bucket("acme", "box")
    for key in reversed(KEYS):
        await buckets.put("acme", "box", key, key.encode())
    return buckets


async def test_list_gives_keys_in_order_with_sizes_and_etags(buckets: Buckets) -> None:
    listing = await (await filled(buckets)).list("acme", "box")
    assert [o.key for o in listing.objects] == KEYS
    assert listing.objects[0].size == 5
    assert listing.objects[0].etag == hashlib.md5(b"a.txt").hexdigest()
    assert listing.prefixes == [] and listing.next_token is None


async def test_list_with_prefix_and_delimiter_rolls_up_folders(buckets: Buckets) -> None:
    b = await filled(buckets)
    top = await b.list("acme", "box", delimiter="/")
    assert [o.key for o in top.objects] == ["a.txt", "z"]
    assert top.prefixes == ["img/", "logs/"]
    img = await b.list("acme", "box", prefix="img/", delimiter="/")
    assert [o.key for o in img.objects] == ["img/1.jpg", "img/2.jpg"]
    assert img.prefixes == ["img/raw/"]
    assert [o.key for o in (await b.list("acme", "box", prefix="img/r")).objects] == [
        "img/raw/3.cr2"]



async def test_pages_follow_tokens_to_the_end_without_repeats(buckets: Buckets) -> None:
    b = await filled(buckets)
    for delimiter, expected in (("", KEYS), ("/", ["a.txt", "img/", "logs/", "z"])):
        seen: list[str] = []
        token: str | None = None
        for _ in range(10):
            page = await b.list("acme", "box", delimiter=delimiter, limit=2, token=token)
            assert len(page.objects) + len(page.prefixes) <= 2
            seen += [o.key for o in page.objects] + page.prefixes
            token = page.next_token
            if token is None:
                break
        assert sorted(seen) == expected


async def test_a_missing_bucket_is_not_found_for_every_object_call(buckets: Buckets) -> None:
    for call in (buckets.head("acme", "nope", "k"), buckets.get("acme", "nope", "k"),
                 buckets.put("acme", "nope", "k", b"x"), buckets.delete("acme", "nope", "k"),
                 buckets.list("acme", "nope")):
        with pytest.raises(NotFound, match="bucket 'nope' not found"):
            await call
