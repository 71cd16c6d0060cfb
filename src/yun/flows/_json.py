"""JSON values as the flows engine sees them: compact text, byte size, strict equality."""

from __future__ import annotations

import json
from typing import Any

# A JSON value (None, bool, int, float, str, list, dict). It is `Any` because these are the
# users' payloads: the engine inspects them with isinstance where it needs a shape.
Json = Any


def dumps(value: Json) -> str:
    """Compact JSON text, the way Step Functions prints values in causes and histories."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def size_bytes(value: Json) -> int:
    """UTF-8 size of the compact JSON text: what the 256 KiB payload limit counts."""
    return len(dumps(value).encode("utf-8"))


def is_number(value: Json) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def type_name(value: Json) -> str:
    """The JSON type word AWS uses in messages: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def equal(a: Json, b: Json) -> bool:
    """JSON equality: numbers by value, but `true` is not `1` (Python says it is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def text_of(value: Json) -> str:
    """A value as it appears inside a message: strings bare, everything else as JSON."""
    return value if isinstance(value, str) else dumps(value)
