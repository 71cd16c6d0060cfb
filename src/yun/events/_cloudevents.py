"""CloudEvents 1.0: the envelope every event reaches a handler in, and reading one from HTTP.

HTTP carries an event two ways (the HTTP protocol binding): *structured*, the whole envelope
as the body with `Content-Type: application/cloudevents+json`; and *binary*, the attributes
as `ce-*` headers and the data as the body, typed by `Content-Type`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from yun.core import InvalidRequest

SPECVERSION = "1.0"
STRUCTURED = "application/cloudevents+json"
_REQUIRED = ("id", "source", "type")
_KNOWN = frozenset({"specversion", "id", "source", "type", "time", "subject", "datacontenttype",
                    "dataschema", "data", "data_base64"})
_EXTENSION = re.compile(r"[a-z0-9]{1,20}")


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """One event. `data` is a JSON value; bytes that are not JSON travel as `data_base64`."""

    id: str
    source: str
    type: str
    time: str  # RFC 3339
    data: object = None
    subject: str | None = None
    datacontenttype: str = "application/json"
    extensions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        envelope: dict[str, object] = {
            "specversion": SPECVERSION, "id": self.id, "source": self.source, "type": self.type,
            "time": self.time, "datacontenttype": self.datacontenttype,
        }
        if self.subject is not None:
            envelope["subject"] = self.subject
        envelope.update(self.extensions)
        if isinstance(self.data, bytes):
            envelope["data_base64"] = base64.b64encode(self.data).decode()
        else:
            envelope["data"] = self.data
        return envelope

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()


def new_event(source: str, type: str, data: object, *, subject: str | None = None,
              id: str | None = None, time: float | None = None,
              datacontenttype: str = "application/json") -> CloudEvent:
    """An event made by Yun: a random id unless the source has a stable one, time now."""
    return CloudEvent(id=id or os.urandom(12).hex(), source=source, type=type,
                      time=rfc3339(time), data=data, subject=subject,
                      datacontenttype=datacontenttype)


def rfc3339(time: float | None = None) -> str:
    """`time` (epoch seconds; now if None) as CloudEvents writes it: UTC with a Z."""
    when = datetime.now(UTC) if time is None else datetime.fromtimestamp(time, UTC)
    return when.isoformat().replace("+00:00", "Z")


def data_of(body: bytes, content_type: str | None) -> object:
    """A body as event data: parsed JSON for JSON types, text for text/*, else the bytes."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise InvalidRequest(f"the body is declared {media} but is not valid JSON: {exc}") \
                from None
    if media.startswith("text/"):
        try:
            return body.decode()
        except UnicodeDecodeError:
            return body
    return body


def from_http(headers: Mapping[str, str], body: bytes) -> CloudEvent | None:
    """The CloudEvent an HTTP request carries, or None when it carries none. `headers` are
    lower-cased. Raises InvalidRequest naming the attribute when the event is malformed."""
    content_type = headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == STRUCTURED:
        return _structured(body)
    if "ce-specversion" in headers:
        return _binary(headers, body)
    return None


def _structured(body: bytes) -> CloudEvent:
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise InvalidRequest(f"a structured CloudEvent must be a JSON object: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidRequest(f"a structured CloudEvent must be a JSON object, was: {_short(raw)}")
    attributes = {k: v for k, v in raw.items() if k not in ("data", "data_base64")}
    data: object = raw.get("data")
    if "data_base64" in raw:
        try:
            data = base64.b64decode(str(raw["data_base64"]), validate=True)
        except binascii.Error:
            raise InvalidRequest(f"CloudEvent data_base64 is not base64, was: "
                                 f"{_short(raw['data_base64'])}") from None
    return _event(attributes, data)


def _binary(headers: Mapping[str, str], body: bytes) -> CloudEvent:
    attributes: dict[str, object] = {k[3:]: v for k, v in headers.items() if k.startswith("ce-")}
    content_type = headers.get("content-type")
    if content_type:
        attributes["datacontenttype"] = content_type
    return _event(attributes, data_of(body, content_type))


def _event(attributes: Mapping[str, object], data: object) -> CloudEvent:
    version = attributes.get("specversion")
    if version != SPECVERSION:
        raise InvalidRequest(f"CloudEvent specversion must be {SPECVERSION}, was: "
                             f"{_short(version)}")
    for name in _REQUIRED:
        value = attributes.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidRequest(f"CloudEvent attribute {name!r} must be a non-empty string, "
                                 f"was: {_short(value)}")
    extensions: dict[str, str] = {}
    for name, value in attributes.items():
        if name in _KNOWN:
            continue
        if not _EXTENSION.fullmatch(name):
            raise InvalidRequest(f"CloudEvent attribute names are 1-20 lowercase letters or "
                                 f"digits, was: {_short(name)}")
        extensions[name] = str(value)
    subject = attributes.get("subject")
    return CloudEvent(
        id=str(attributes["id"]), source=str(attributes["source"]), type=str(attributes["type"]),
        time=str(attributes.get("time") or rfc3339()), data=data,
        subject=str(subject) if subject is not None else None,
        datacontenttype=str(attributes.get("datacontenttype") or "application/json"),
        extensions=extensions)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
