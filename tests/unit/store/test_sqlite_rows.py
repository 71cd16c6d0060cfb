"""The embedded store writes records as plain tuples: they must match the table's columns."""

from __future__ import annotations

from yun.core import ActivationRecord, Status
from yun.store import LogLine
from yun.store._activations import _ACTIVATION_COLUMNS, _LOG_COLUMNS, sqlite_rows
from yun.store._codec import activation_to_row, log_to_row


def test_record_and_log_tuples_follow_the_column_order() -> None:
    record = ActivationRecord(
        id="0193a1b2c3d4e5f60718293a4b5c6d7e", function="fn", version=3, tenant="t",
        start=1.5, end=2.5, duration_ms=3.5, init_ms=4.5, wait_ms=5.5, memory_mb=128,
        max_rss_mb=6.5, status=Status.TIMEOUT, billed_ms=7, gb_seconds=8.5,
        error_type="E", error_message="M", traceback="T")
    line = LogLine(seq=0, activation_id="a", tenant="t", function="fn", stream="stdout",
                   time=9.5, line="hello")
    records, lines = sqlite_rows([record], [line])
    assert records == [tuple(activation_to_row(record)[c] for c in _ACTIVATION_COLUMNS)]
    assert lines == [tuple(log_to_row(line)[c] for c in _LOG_COLUMNS)]
