"""Listing pages: following the tokens gives exactly the one-page listing, which matches a
plain model of S3's prefix and delimiter rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yun.core import InvalidRequest
from yun.storage._listing import page

KEYS = st.lists(st.text(alphabet="ab/-", min_size=1, max_size=6), unique=True).map(sorted)


def model(keys: list[str], prefix: str, delimiter: str) -> list[str]:
    items: list[str] = []
    for key in keys:
        if not key.startswith(prefix):
            continue
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        item = key[: at + len(delimiter)] if at >= 0 else key
        if item not in items:
            items.append(item)
    return items


@given(KEYS, st.text(alphabet="ab/", max_size=2), st.sampled_from(["", "/", "-", "b/"]),
       st.integers(min_value=1, max_value=4))
def test_following_tokens_lists_every_item_once_in_order(
        keys: list[str], prefix: str, delimiter: str, limit: int) -> None:
    seen: list[str] = []
    token: str | None = None
    for _ in range(len(keys) + 2):
        found = page(keys, prefix=prefix, delimiter=delimiter, limit=limit, token=token)
        assert len(found.keys) + len(found.prefixes) <= limit
        seen += sorted(found.keys + found.prefixes)
        token = found.next_token
        if token is None:
            break
    assert seen == model(keys, prefix, delimiter)


def test_a_forged_token_is_refused_by_name() -> None:
    with pytest.raises(InvalidRequest, match="invalid list token"):
        page(["a"], prefix="", delimiter="", limit=1, token="%%%")
