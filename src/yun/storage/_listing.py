"""One page of an S3-style listing over sorted keys: prefix, delimiter, page size and an opaque
token, without I/O (the local backend feeds it the keys it found on disk)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from yun.core import InvalidRequest


@dataclass(frozen=True, slots=True)
class Page:
    keys: list[str]
    prefixes: list[str]
    next_token: str | None


def page(keys: Iterable[str], *, prefix: str, delimiter: str, limit: int,
         token: str | None) -> Page:
    """`keys` must be sorted. With a delimiter, keys that have it after `prefix` are rolled up
    into their common prefix (up to and including the delimiter), listed once."""
    after = _decode(token) if token else None
    # A token that is a common prefix means "past everything under it".
    after_rolled = bool(after and delimiter and after.find(delimiter, len(prefix)) >= 0)
    found: list[str] = []
    prefixes: list[str] = []
    last = ""
    for key in keys:
        if not key.startswith(prefix):
            continue
        if after is not None and (key <= after or (after_rolled and key.startswith(after))):
            continue
        item, rolled = key, False
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                item, rolled = key[: at + len(delimiter)], True
                if prefixes and prefixes[-1] == item:
                    continue
        if len(found) + len(prefixes) == limit:
            return Page(found, prefixes, _encode(last))
        (prefixes if rolled else found).append(item)
        last = item
    return Page(found, prefixes, None)


def _encode(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def _decode(token: str) -> str:
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidRequest(f"invalid list token {token[:80]!r}: pass back the "
                             f"next_token of the previous page") from exc  # fmt: skip
