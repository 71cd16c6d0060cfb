"""What a bucket name, an object key and user metadata may be. Every backend checks the same
rules, so an object that one accepts the other accepts too.

Bucket names follow S3's rules. Keys are S3's (1..1024 bytes of UTF-8) minus what cannot be a
path: empty, `.` and `..` segments, a leading or trailing `/`, control characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from yun.core import InvalidRequest

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048  # names plus values, as S3's user metadata

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_META_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
_CONTENT_TYPE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")


def check_bucket_name(name: str) -> str:
    """`name` if it is a valid bucket name, else InvalidRequest naming it and the rule."""
    rule = ("bucket names are 3-63 characters of a-z, 0-9, '.' and '-', starting and ending "
            "with a letter or digit")  # fmt: skip
    if not _BUCKET.fullmatch(name):
        raise InvalidRequest(f"invalid bucket name {name!r}: {rule}")
    if ".." in name or ".-" in name or "-." in name:
        raise InvalidRequest(f"invalid bucket name {name!r}: no '..', '.-' or '-.'")
    if _IP_LIKE.fullmatch(name):
        raise InvalidRequest(f"invalid bucket name {name!r}: must not look like an IP address")
    return name


def check_key(key: str) -> str:
    """`key` if it is a valid object key, else InvalidRequest naming it and the rule."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if not key or size > MAX_KEY_BYTES:
        raise InvalidRequest(f"invalid object key {key[:80]!r}: keys are 1..{MAX_KEY_BYTES} "
                             f"bytes of UTF-8, was {size}")  # fmt: skip
    if _CONTROL.search(key) or any(0xD800 <= ord(c) <= 0xDFFF for c in key):
        raise InvalidRequest(f"invalid object key {key!r}: control characters and lone "
                             f"surrogates are not allowed")  # fmt: skip
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidRequest(
                f"invalid object key {key!r}: '/'-separated parts must not be empty, '.' or "
                f"'..' (no leading, trailing or doubled '/')"
            )
    return key


def check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata: lower-case names of a-z, 0-9 and '-', printable ASCII values, at most
    2 KiB in all (S3 sends it as headers, so it must survive being one)."""
    size = 0
    checked: dict[str, str] = {}
    for name, value in metadata.items():
        if not _META_NAME.fullmatch(name):
            raise InvalidRequest(f"invalid metadata name {name!r}: use a-z, 0-9 and '-'")
        if name.startswith("yun-"):
            raise InvalidRequest(f"invalid metadata name {name!r}: names starting with "
                                 f"'yun-' are reserved")  # fmt: skip
        if not all(" " <= c <= "~" for c in value):
            raise InvalidRequest(f"invalid metadata value for {name!r}: {value[:80]!r} "
                                 f"(printable ASCII only)")  # fmt: skip
        size += len(name) + len(value)
        checked[name] = value
    if size > MAX_METADATA_BYTES:
        raise InvalidRequest(f"metadata of {size} bytes exceeds the {MAX_METADATA_BYTES} "
                             f"byte limit")  # fmt: skip
    return checked


def check_content_type(value: str) -> str:
    if not _CONTENT_TYPE.fullmatch(value):
        raise InvalidRequest(f"invalid content type {value[:80]!r}: printable ASCII, "
                             f"1..255 characters")  # fmt: skip
    return value
