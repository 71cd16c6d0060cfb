"""Activation ids: 32 hex digits, the creation time in milliseconds first, so ids sort by time."""

from __future__ import annotations

import re
import time

from yun.core import activation_id


def test_ids_are_32_hex_digits_starting_with_the_milliseconds_and_sort_by_time() -> None:
    before = int(time.time() * 1000)
    first = activation_id()
    time.sleep(0.002)
    second = activation_id()
    after = int(time.time() * 1000)
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert before <= int(first[:12], 16) <= int(second[:12], 16) <= after
    assert first < second


def test_ids_do_not_repeat() -> None:
    ids = [activation_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
