"""MQTT topic filters, device ids from `+`, and batching by size or window."""

from __future__ import annotations

import pytest

from yun.core.types import Batch
from yun.events import device_of, topic_matches
from yun.events._batch import Batcher


@pytest.mark.parametrize(("pattern", "topic", "matches"), [
    ("devices/+/telemetry", "devices/d1/telemetry", True),
    ("devices/+/telemetry", "devices/d1/status", False),
    ("devices/+/telemetry", "devices/d1/x/telemetry", False),
    ("devices/#", "devices", True),
    ("devices/#", "devices/d1/a/b", True),
    ("#", "$SYS/broker/uptime", False),
    ("a/b", "a/b", True),
    ("a/b", "a/b/c", False),
])
def test_topic_filters(pattern: str, topic: str, matches: bool) -> None:
    assert topic_matches(pattern, topic) is matches


def test_the_device_id_is_the_level_under_the_first_plus() -> None:
    assert device_of("devices/+/telemetry", "devices/pump-7/telemetry") == "pump-7"
    assert device_of("devices/#", "devices/pump-7") is None


def test_a_batch_goes_when_full() -> None:
    b: Batcher[int] = Batcher(Batch(size=3, window=1.0))
    assert b.add(1, 0.0) is None and b.add(2, 0.1) is None
    assert b.add(3, 0.2) == [1, 2, 3]
    assert b.deadline() is None


def test_a_batch_goes_when_its_window_ends() -> None:
    b: Batcher[int] = Batcher(Batch(size=100, window=0.5))
    b.add(1, 10.0)
    b.add(2, 10.3)
    assert b.deadline() == 10.5
    assert b.due(10.4) is None
    assert b.due(10.5) == [1, 2]


def test_without_batching_each_message_goes_alone() -> None:
    b: Batcher[int] = Batcher(None)
    assert b.add(1, 0.0) == [1]
