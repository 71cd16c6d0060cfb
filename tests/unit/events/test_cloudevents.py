"""CloudEvents 1.0 envelopes: built for every event, read from structured and binary HTTP."""

from __future__ import annotations

import json

import pytest

from yun.core import InvalidRequest
from yun.events import CloudEvent, from_http, new_event


def test_a_new_event_has_every_required_attribute() -> None:
    event = new_event("/yun/acme/cron/report", "yun.cron.tick", {"n": 1}, subject="report",
                      id="tick-1", time=0.0)
    assert json.loads(event.to_json()) == {
        "specversion": "1.0", "id": "tick-1", "source": "/yun/acme/cron/report",
        "type": "yun.cron.tick", "time": "1970-01-01T00:00:00Z", "subject": "report",
        "datacontenttype": "application/json", "data": {"n": 1},
    }


def test_bytes_data_travels_as_base64() -> None:
    event = new_event("/s", "t", b"\x00\xff", datacontenttype="application/octet-stream")
    assert event.to_dict()["data_base64"] == "AP8="
    assert "data" not in event.to_dict()


def test_a_structured_event_is_read_whole() -> None:
    body = json.dumps({"specversion": "1.0", "id": "a1", "source": "/shop", "type": "order",
                       "time": "2026-01-01T00:00:00Z", "subject": "o-7", "data": {"total": 3},
                       "traceparent": "00-abc"}).encode()
    event = from_http({"content-type": "application/cloudevents+json; charset=utf-8"}, body)
    assert event == CloudEvent(id="a1", source="/shop", type="order",
                               time="2026-01-01T00:00:00Z", data={"total": 3}, subject="o-7",
                               extensions={"traceparent": "00-abc"})


def test_a_binary_event_takes_attributes_from_ce_headers_and_data_from_the_body() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "b2", "ce-source": "/sensors",
               "ce-type": "reading", "content-type": "application/json"}
    event = from_http(headers, b'{"celsius": 21.5}')
    assert event is not None
    assert (event.id, event.source, event.type, event.data) == (
        "b2", "/sensors", "reading", {"celsius": 21.5})


def test_binary_event_with_opaque_data_keeps_the_bytes() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "b3", "ce-source": "/cam", "ce-type": "jpeg",
               "content-type": "image/jpeg"}
    event = from_http(headers, b"\xff\xd8")
    assert event is not None and event.data == b"\xff\xd8"
    assert event.to_dict()["data_base64"] == "/9g="


def test_a_plain_request_carries_no_event() -> None:
    assert from_http({"content-type": "application/json"}, b"{}") is None


@pytest.mark.parametrize(("headers", "body", "message"), [
    ({"content-type": "application/cloudevents+json"}, b"[1]",
     "a structured CloudEvent must be a JSON object, was: [1]"),
    ({"content-type": "application/cloudevents+json"},
     b'{"specversion": "0.3", "id": "x", "source": "/s", "type": "t"}',
     "CloudEvent specversion must be 1.0, was: '0.3'"),
    ({"ce-specversion": "1.0", "ce-id": "x", "ce-type": "t"}, b"",
     "CloudEvent attribute 'source' must be a non-empty string, was: None"),
])
def test_a_malformed_event_is_refused_naming_the_attribute(
        headers: dict[str, str], body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match="^" + message.replace("[", r"\[").replace(
            "]", r"\]").replace(".", r"\.")):
        from_http(headers, body)
