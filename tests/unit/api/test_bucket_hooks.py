"""`POST /v1/hooks/buckets/TENANT/BUCKET`: an S3-compatible store's notification webhook (moto's
server stores the objects; the test sends the Records a MinIO would), authenticated by the
bucket's own events token; matching events reach the bucket source and `Submit`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from yun.api import Deployer, create_api
from yun.core.types import BucketTrigger
from yun.events import BucketSource, trigger_id
from yun.gateway import KeyCache, QuotaBook
from yun.storage import CodeStore, LayerStore, Origin, S3Buckets
from yun.store import Store


@dataclass
class Hooked:
    http: httpx.AsyncClient
    buckets: S3Buckets
    token: str
    submitted: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)

    def path(self, tenant: str = "default", bucket: str = "uploads") -> str:
        return f"/v1/hooks/buckets/{tenant}/{bucket}"

    def records(self, name: str, key: str, **item: object) -> dict[str, object]:
        full = self.buckets.data_prefix("default", "uploads") + key
        return {"Records": [{"eventName": name, "eventTime": "2026-11-26T12:00:00Z",
                             "s3": {"bucket": {"name": self.buckets.physical},
                                    "object": {"key": full, **item}}}]}


@pytest.fixture
async def hooked(tmp_path: Path, s3_buckets: S3Buckets) -> AsyncIterator[Hooked]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}")
    quotas = QuotaBook()
    keys = KeyCache(store, quotas=quotas)
    deployer = Deployer(store, CodeStore(tmp_path / "code"), LayerStore(tmp_path / "layers"),
                        tmp_path / "staging", lambda _t, _v: None, quotas=quotas)  # fmt: skip
    holder: list[Hooked] = []

    async def submit(tenant: str, target: str, body: bytes, _source: str,
                     _dedupe: str | None) -> str:
        holder[0].submitted.append((tenant, target, json.loads(body)))
        return f"inv-{len(holder[0].submitted)}"

    source = BucketSource(submit)
    source.subscribe("default", "thumbs", [BucketTrigger("uploads", ("created", "deleted"))])
    await s3_buckets.open()
    made = await s3_buckets.create_bucket("default", "uploads")
    app = create_api(store, keys, deployer, lambda _t, _n: None, lambda _t, _n: None,
                     lambda _t: [], quotas=quotas, buckets=s3_buckets,
                     bucket_source=source)  # fmt: skip
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yun.test")
    holder.append(Hooked(http, s3_buckets, made.events_token))
    try:
        yield holder[0]
    finally:
        await http.aclose()
        await store.close()


async def test_a_notification_with_the_token_submits_the_event(hooked: Hooked) -> None:
    sent = await hooked.http.post(
        hooked.path(), json=hooked.records("s3:ObjectCreated:Put", "a.jpg", size=3, eTag="e1",
                                           contentType="image/jpeg", userMetadata={}),
        headers={"authorization": f"Bearer {hooked.token}"})
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"accepted": 1, "ignored": 0}
    ((tenant, target, envelope),) = hooked.submitted
    assert (tenant, target, envelope["type"]) == ("default", "thumbs", "yun.bucket.object.created")
    assert envelope["data"]["key"] == "a.jpg" and envelope["data"]["etag"] == "e1"


async def test_the_token_may_come_as_a_query_parameter(hooked: Hooked) -> None:
    sent = await hooked.http.post(hooked.path(), params={"token": hooked.token},
                                  json=hooked.records("s3:ObjectRemoved:Delete", "a.jpg"))
    assert sent.status_code == 200 and hooked.submitted[0][2]["type"].endswith(".deleted")


async def test_a_record_without_metadata_learns_the_origin_from_the_object(
        hooked: Hooked) -> None:
    """AWS sends no metadata; the loop guard still needs the origin of the object."""
    own = trigger_id("thumbs", BucketTrigger("uploads", ("created", "deleted")))
    put = await hooked.buckets.put("default", "uploads", "t.jpg", b"abc", origin=Origin(own, 1))
    sent = await hooked.http.post(
        hooked.path(), params={"token": hooked.token},
        json=hooked.records("ObjectCreated:Put", "t.jpg", size=3, eTag=put.etag))
    assert sent.status_code == 200 and hooked.submitted == []  # its own output: not delivered


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token-0123456789", "Basic abc"])
async def test_a_missing_or_wrong_token_is_401(hooked: Hooked, auth: str | None) -> None:
    headers = {"authorization": auth} if auth else {}
    sent = await hooked.http.post(hooked.path(), headers=headers,
                                  json=hooked.records("s3:ObjectCreated:Put", "a.jpg"))
    assert sent.status_code == 401 and hooked.submitted == []


async def test_another_tenants_or_a_missing_bucket_answers_as_a_wrong_token(
        hooked: Hooked) -> None:
    body = hooked.records("s3:ObjectCreated:Put", "a.jpg")
    answers = [await hooked.http.post(path, params={"token": hooked.token}, json=body)
               for path in (hooked.path("other"), hooked.path(bucket="nothing"))]
    wrong = await hooked.http.post(hooked.path(), params={"token": "x" * 32}, json=body)
    assert {a.status_code for a in answers} == {401}
    assert {a.text for a in answers} == {wrong.text}
    assert hooked.submitted == []
