"""`/v1/buckets`: buckets and objects of the key's tenant; others' answer 404 like missing ones."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from yun.core.types import BucketTrigger
from yun.events import MAX_DEPTH
from yun.storage import Origin

if TYPE_CHECKING:  # the fixture's type; not imported at run time (pytest owns conftest)
    from conftest import Api


async def test_a_bucket_is_created_listed_described_and_deleted(api: Api) -> None:
    key = await api.tenant_key("acme")
    async with api.client(key) as http:
        made = await http.post("/v1/buckets", json={"name": "uploads"})
        assert made.status_code == 201 and made.json()["name"] == "uploads"
        listed = (await http.get("/v1/buckets")).json()["buckets"]
        assert [b["name"] for b in listed] == ["uploads"]
        shown = (await http.get("/v1/buckets/uploads")).json()
        assert shown["events_token"] and "events_token" not in listed[0]
        assert (await http.post("/v1/buckets", json={"name": "uploads"})).status_code == 409
        assert (await http.delete("/v1/buckets/uploads")).status_code == 204
        assert (await http.get("/v1/buckets/uploads")).status_code == 404


async def test_a_bad_bucket_name_is_a_400_naming_it(api: Api) -> None:
    async with api.client(await api.tenant_key("acme")) as http:
        refused = await http.post("/v1/buckets", json={"name": "Bad_Name"})
    assert refused.status_code == 400 and "'Bad_Name'" in refused.json()["error"]["message"]


async def test_objects_are_put_read_described_listed_and_deleted(api: Api) -> None:
    async with api.client(await api.tenant_key("acme")) as http:
        await http.post("/v1/buckets", json={"name": "uploads"})
        put = await http.put("/v1/buckets/uploads/objects/images/cat.jpg", content=b"meow",
                             headers={"content-type": "image/jpeg", "x-yun-meta-owner": "ann"})
        assert put.status_code == 201, put.text
        assert put.json()["etag"] == hashlib.md5(b"meow").hexdigest()
        got = await http.get("/v1/buckets/uploads/objects/images/cat.jpg")
        assert got.status_code == 200 and got.content == b"meow"
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["etag"] == f'"{hashlib.md5(b"meow").hexdigest()}"'
        assert got.headers["x-yun-meta-owner"] == "ann"
        head = await http.head("/v1/buckets/uploads/objects/images/cat.jpg")
        assert head.status_code == 200 and head.headers["content-length"] == "4"
        listing = (await http.get("/v1/buckets/uploads/objects",
                                  params={"prefix": "images/", "delimiter": "/"})).json()
        assert [o["key"] for o in listing["objects"]] == ["images/cat.jpg"]
        assert listing["next_token"] is None
        gone = await http.delete("/v1/buckets/uploads/objects/images/cat.jpg")
        assert gone.status_code == 204
        missing = await http.get("/v1/buckets/uploads/objects/images/cat.jpg")
        assert missing.status_code == 404
        assert "'images/cat.jpg'" in missing.json()["error"]["message"]


async def test_a_streamed_body_past_the_limit_is_a_413(api: Api) -> None:
    async def big() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536  # 1.25 MiB in all, no content-length

    async with api.client(await api.tenant_key("acme")) as http:
        await http.post("/v1/buckets", json={"name": "uploads"})
        refused = await http.put("/v1/buckets/uploads/objects/big", content=big())
        assert refused.status_code == 413
        assert "'big' exceeds the 1.0 MiB limit" in refused.json()["error"]["message"]
        declared = await http.put("/v1/buckets/uploads/objects/big", content=b"x" * (2 << 20))
        assert declared.status_code == 413
        assert (await http.head("/v1/buckets/uploads/objects/big")).status_code == 404


async def test_another_tenants_bucket_answers_like_a_missing_one(api: Api) -> None:
    async with api.client(await api.tenant_key("acme")) as http:
        await http.post("/v1/buckets", json={"name": "private"})
        await http.put("/v1/buckets/private/objects/k", content=b"secret")
    async with api.client(await api.tenant_key("other")) as http:
        for method, path in (("GET", "/v1/buckets/{}"), ("GET", "/v1/buckets/{}/objects"),
                             ("GET", "/v1/buckets/{}/objects/k"),
                             ("PUT", "/v1/buckets/{}/objects/k"),
                             ("DELETE", "/v1/buckets/{}/objects/k"),
                             ("DELETE", "/v1/buckets/{}?force=true")):
            theirs = await http.request(method, path.format("private"), content=b"x")
            missing = await http.request(method, path.format("nothing"), content=b"x")
            assert theirs.status_code == missing.status_code == 404, (method, path)
            assert (theirs.json()["error"]["message"].replace("private", "X")
                    == missing.json()["error"]["message"].replace("nothing", "X"))
        assert (await http.get("/v1/buckets")).json()["buckets"] == []
        # Their own bucket of the same name is theirs alone.
        assert (await http.post("/v1/buckets", json={"name": "private"})).status_code == 201
        assert (await http.get("/v1/buckets/private/objects/k")).status_code == 404


async def test_a_non_empty_bucket_is_deleted_only_with_force(api: Api) -> None:
    async with api.client(await api.tenant_key("acme")) as http:
        await http.post("/v1/buckets", json={"name": "uploads"})
        await http.put("/v1/buckets/uploads/objects/k", content=b"1")
        refused = await http.delete("/v1/buckets/uploads")
        assert refused.status_code == 409 and "not empty" in refused.json()["error"]["message"]
        assert (await http.delete("/v1/buckets/uploads?force=true")).status_code == 204


async def test_every_bucket_route_needs_a_key(api: Api) -> None:
    async with api.client(None) as http:
        for method, path in (("GET", "/v1/buckets"), ("POST", "/v1/buckets"),
                             ("PUT", "/v1/buckets/b/objects/k"), ("GET", "/v1/buckets/b")):
            assert (await http.request(method, path)).status_code == 401, (method, path)


async def test_puts_and_deletes_through_the_api_emit_object_events(api: Api) -> None:
    async with api.client(await api.tenant_key("acme")) as http:
        await http.post("/v1/buckets", json={"name": "uploads"})
        await http.put("/v1/buckets/uploads/objects/a.jpg", content=b"1")
        await http.delete("/v1/buckets/uploads/objects/a.jpg")
    assert [(e.tenant, e.kind, e.object.key) for e in api.bucket_events] == [
        ("acme", "created", "a.jpg"), ("acme", "deleted", "a.jpg")]


async def test_pages_of_a_listing_follow_the_token(api: Api) -> None:
    async with api.client(await api.tenant_key("acme")) as http:
        await http.post("/v1/buckets", json={"name": "uploads"})
        for n in range(5):
            await http.put(f"/v1/buckets/uploads/objects/k{n}", content=b"x")
        keys: list[str] = []
        params: dict[str, str | int] = {"limit": 2}
        for _ in range(5):
            page = (await http.get("/v1/buckets/uploads/objects", params=params)).json()
            keys += [o["key"] for o in page["objects"]]
            if page["next_token"] is None:
                break
            params["token"] = page["next_token"]
        assert keys == [f"k{n}" for n in range(5)]
        bad = await http.get("/v1/buckets/uploads/objects", params={"limit": 0})
        assert bad.status_code in (400, 422)


async def test_events_the_loop_guard_refused_are_listed_per_bucket(api: Api) -> None:
    api.source.subscribe("acme", "ping", [BucketTrigger("uploads")])
    async with api.client(await api.tenant_key("acme")) as http:
        await http.post("/v1/buckets", json={"name": "uploads"})
        await api.buckets.put("acme", "uploads", "deep.txt", b"x",
                              origin=Origin("pong#1", MAX_DEPTH))
        refusals = (await http.get("/v1/buckets/uploads/refusals")).json()["refusals"]
        assert [(r["function"], r["key"], r["depth"]) for r in refusals] == [
            ("ping", "deep.txt", MAX_DEPTH + 1)]
    async with api.client(await api.tenant_key("other")) as http:
        assert (await http.get("/v1/buckets/uploads/refusals")).status_code == 404


async def test_the_buckets_quota_refuses_one_bucket_too_many(api: Api) -> None:
    async with api.client(await api.tenant_key("acme", buckets=1)) as http:
        assert (await http.post("/v1/buckets", json={"name": "first"})).status_code == 201
        refused = await http.post("/v1/buckets", json={"name": "second"})
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert (error["quota"], error["limit"], error["value"]) == ("buckets", 1, 2)
        assert "tenant 'acme' may have 1 buckets" in error["message"]
        assert (await http.delete("/v1/buckets/first")).status_code == 204
        assert (await http.post("/v1/buckets", json={"name": "second"})).status_code == 201
