"""Records are stored in pages: one msgpack array per (tenant, function) of a batch."""

from __future__ import annotations

import msgspec

from yun.core import ActivationRecord, Status
from yun.store import LogLine
from yun.store._activations import _LOG_COLUMNS, _PAGE_COLUMNS, log_rows, pages
from yun.store._codec import log_to_row

RECORD = ActivationRecord(
    id="0193a1b2c3d4e5f60718293a4b5c6d7e", function="fn", version=3, tenant="t",
    start=1.5, end=2.5, duration_ms=3.5, init_ms=4.5, wait_ms=5.5, memory_mb=128,
    max_rss_mb=6.5, status=Status.TIMEOUT, billed_ms=7, gb_seconds=8.5,
    error_type="E", error_message="M", traceback="T")


def test_a_batch_makes_one_page_per_tenant_and_function_with_its_records_in_order() -> None:
    a1, a2 = RECORD._replace(id="a1", start=3.0), RECORD._replace(id="a2", start=1.0)
    b1 = RECORD._replace(id="b1", function="other")
    c1 = RECORD._replace(id="c1", tenant="u")
    made = pages([a1, b1, a2, c1])
    assert [(page[:5], ids) for page, ids in made] == [
        (("t", "fn", 1.0, 3.0, 2), ["a1", "a2"]),
        (("t", "other", 1.5, 1.5, 1), ["b1"]),
        (("u", "fn", 1.5, 1.5, 1), ["c1"]),
    ]
    assert _PAGE_COLUMNS == ["tenant", "function", "first_start", "last_start", "count",
                             "records"]
    decoded = msgspec.msgpack.decode(made[0][0][5], type=list[ActivationRecord])
    assert decoded == [a1, a2]
    assert decoded[0].status is Status.TIMEOUT


def test_log_tuples_follow_the_column_order() -> None:
    line = LogLine(seq=0, activation_id="a", tenant="t", function="fn", stream="stdout",
                   time=9.5, line="hello")
    assert log_rows([line]) == [tuple(log_to_row(line)[c] for c in _LOG_COLUMNS)]
