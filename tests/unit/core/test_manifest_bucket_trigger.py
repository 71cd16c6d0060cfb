"""`- bucket: {bucket, events, prefix, suffix}` in `triggers:`: parsed, checked, stored."""

from __future__ import annotations

import json

import pytest

from yun.core import ManifestError
from yun.core.manifest import load_manifest, manifest_from_dict, manifest_to_dict
from yun.core.types import BucketTrigger


def manifest(trigger: str) -> str:
    return f"name: thumbs\nhandler: main:handle\ntriggers:\n  - bucket: {trigger}\n"


def test_a_bucket_trigger_with_every_field_is_parsed() -> None:
    m = load_manifest(manifest(
        "{bucket: uploads, events: [created, deleted], prefix: images/, suffix: .jpg}"))
    assert m.triggers == (BucketTrigger("uploads", ("created", "deleted"), "images/", ".jpg"),)


def test_events_default_to_created_and_a_single_event_may_be_a_string() -> None:
    assert load_manifest(manifest("{bucket: uploads}")).triggers == (
        BucketTrigger("uploads", ("created",)),)
    assert load_manifest(manifest("{bucket: uploads, events: deleted}")).triggers == (
        BucketTrigger("uploads", ("deleted",)),)


def test_a_bucket_trigger_survives_the_stored_dict() -> None:
    m = load_manifest(manifest("{bucket: uploads, prefix: a/, suffix: .png}"))
    assert manifest_from_dict(json.loads(json.dumps(manifest_to_dict(m)))) == m


@pytest.mark.parametrize(("trigger", "message"), [
    ("{bucket: Up_Loads}", "triggers[0].bucket.bucket must be a bucket name"),
    ("{events: [created]}", "triggers[0].bucket.bucket must be a bucket name"),
    ("{bucket: uploads, events: [made]}", "triggers[0].bucket.events must be among created, "
                                          "deleted, was: 'made'"),
    ("{bucket: uploads, prefix: 7}", "triggers[0].bucket.prefix must be a string"),
    ("{bucket: uploads, sufix: .jpg}", "did you mean 'suffix'?"),
    ("uploads", "triggers[0].bucket must be a mapping like {bucket: uploads"),
])
def test_a_bad_bucket_trigger_names_the_field_the_value_and_the_line(
        trigger: str, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest(trigger))
    assert message in str(caught.value)
    assert "yun.yaml line 4" in str(caught.value)


def test_an_async_destination_may_be_a_bucket_with_a_prefix() -> None:
    m = load_manifest("name: thumbs\nhandler: main:handle\nasync:\n"
                      "  on_success: yun://results/thumbs/\n  on_failure: alarm\n")
    assert (m.async_.on_success, m.async_.on_failure) == ("yun://results/thumbs/", "alarm")


def test_a_malformed_bucket_destination_names_the_key_and_the_line() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest("name: thumbs\nhandler: main:handle\nasync:\n  on_failure: yun://Bad/x\n")
    assert "async.on_failure: a bucket destination must be yun://BUCKET[/PREFIX]" in str(
        caught.value)
    assert "'yun://Bad/x' (yun.yaml line 4)" in str(caught.value)
