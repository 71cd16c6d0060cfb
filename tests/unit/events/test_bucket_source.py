"""The bucket source: object events that match a function's bucket trigger reach `Submit` as
CloudEvents with a stable dedupe key; the loop guard stops a function feeding itself."""

from __future__ import annotations

import json

from events_recording import RecordingSubmit

from yun.core import FakeClock
from yun.core.types import BucketTrigger, CronTrigger
from yun.events import MAX_DEPTH, BucketSource, trigger_id
from yun.storage import ObjectEvent, ObjectInfo, Origin

UPLOADS = BucketTrigger("uploads", ("created",), "images/", ".jpg")


def event(key: str, kind: str = "created", origin: Origin | None = None,
          tenant: str = "acme", bucket: str = "uploads", etag: str = "e1",
          modified: float = 1_700_000_000.0) -> ObjectEvent:
    info = ObjectInfo(bucket, key, 3, etag, "image/jpeg", modified, {}, origin)
    return ObjectEvent(tenant, kind, info)  # type: ignore[arg-type]


def source(submit: RecordingSubmit) -> BucketSource:
    made = BucketSource(submit, clock=FakeClock(100.0))
    made.subscribe("acme", "thumbs", [UPLOADS, CronTrigger("* * * * *")])
    return made


async def test_a_matching_upload_is_submitted_as_a_cloudevent(submit: RecordingSubmit) -> None:
    ids = await source(submit).deliver(event("images/cat.jpg"))
    assert ids == ["inv-0"]
    (call,) = submit.calls
    assert (call.tenant, call.target, call.source) == ("acme", "thumbs", "bucket")
    envelope = json.loads(call.body)
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "yun.bucket.object.created"
    assert envelope["source"] == "/buckets/uploads"
    assert envelope["subject"] == "images/cat.jpg"
    assert envelope["data"] == {"bucket": "uploads", "key": "images/cat.jpg", "size": 3,
                                "etag": "e1", "content_type": "image/jpeg"}
    assert envelope["yuntrigger"] == trigger_id("thumbs", UPLOADS)
    assert envelope["yundepth"] == "1"


async def test_prefix_suffix_event_kind_tenant_and_bucket_must_all_match(
        submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    for miss in (event("docs/cat.jpg"), event("images/cat.png"),
                 event("images/cat.jpg", kind="deleted"),
                 event("images/cat.jpg", tenant="other"),
                 event("images/cat.jpg", bucket="downloads")):
        assert await bucket_source.deliver(miss) == []
    assert submit.calls == []


async def test_the_same_event_twice_has_the_same_dedupe_key(submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    first = await bucket_source.deliver(event("images/cat.jpg"))
    again = await bucket_source.deliver(event("images/cat.jpg"))
    changed = await bucket_source.deliver(event("images/cat.jpg", etag="e2"))
    assert first == again != changed
    assert len(submit.calls) == 2


async def test_the_same_bytes_written_again_later_is_a_new_event(submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    first = await bucket_source.deliver(event("images/cat.jpg"))
    later = await bucket_source.deliver(event("images/cat.jpg", modified=1_700_000_060.0))
    assert first != later
    assert len({c.dedupe_key for c in submit.calls}) == 2


async def test_each_subscribed_function_gets_its_own_invocation(submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    bucket_source.subscribe("acme", "audit", [BucketTrigger("uploads", ("created", "deleted"))])
    assert len(await bucket_source.deliver(event("images/cat.jpg"))) == 2
    assert [c.target for c in submit.calls] == ["thumbs", "audit"]


async def test_a_redeploy_replaces_and_a_removal_drops_the_subscription(
        submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    bucket_source.subscribe("acme", "thumbs", [BucketTrigger("uploads", prefix="docs/")])
    assert await bucket_source.deliver(event("images/cat.jpg")) == []
    assert len(await bucket_source.deliver(event("docs/a.jpg"))) == 1
    bucket_source.unsubscribe("acme", "thumbs")
    assert await bucket_source.deliver(event("docs/b.jpg")) == []


async def test_an_object_written_by_the_same_trigger_does_not_trigger_it(
        submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    own = Origin(trigger_id("thumbs", UPLOADS), 1)
    assert await bucket_source.deliver(event("images/cat.thumb.jpg", origin=own)) == []
    assert submit.calls == [] and bucket_source.skipped_own == 1


async def test_another_triggers_output_goes_one_level_deeper(submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    await bucket_source.deliver(event("images/cat.jpg", origin=Origin("other#abc", 3)))
    assert json.loads(submit.calls[0].body)["yundepth"] == "4"


async def test_a_chain_past_the_depth_limit_is_refused_recorded_and_visible(
        submit: RecordingSubmit) -> None:
    bucket_source = source(submit)
    at_limit = event("images/a.jpg", origin=Origin("ping#1", MAX_DEPTH - 1))
    past = event("images/b.jpg", origin=Origin("ping#1", MAX_DEPTH))
    assert len(await bucket_source.deliver(at_limit)) == 1
    assert await bucket_source.deliver(past) == []
    (refusal,) = bucket_source.refusals("acme")
    assert (refusal.function, refusal.bucket, refusal.key) == ("thumbs", "uploads", "images/b.jpg")
    assert refusal.depth == MAX_DEPTH + 1 and refusal.at == 100.0
    assert f"more than {MAX_DEPTH}" in refusal.reason
    assert bucket_source.refusals("other") == []


def test_trigger_ids_are_stable_and_differ_per_trigger() -> None:
    assert trigger_id("thumbs", UPLOADS) == trigger_id("thumbs", BucketTrigger(
        "uploads", ("created",), "images/", ".jpg"))
    assert trigger_id("thumbs", UPLOADS) != trigger_id("thumbs", BucketTrigger("uploads"))
    assert trigger_id("thumbs", UPLOADS).startswith("thumbs#")
