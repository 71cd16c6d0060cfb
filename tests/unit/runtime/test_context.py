"""The handler's context is built from the invocation frame, field by field."""

from __future__ import annotations

import time

from yun.protocol import Invoke
from yun.runtime._context import context_for


def test_the_context_carries_the_frames_ids_limits_and_deadline() -> None:
    invoke = Invoke(id="a1", timeout_ms=2500, function="hello", version=3, memory_mb=256,
                    tenant="acme", depth=2)
    before = time.monotonic()
    context = context_for(invoke)
    after = time.monotonic()
    assert (context.request_id, context.function, context.version, context.memory_mb,
            context.tenant, context.depth) == ("a1", "hello", 3, 256, "acme", 2)
    assert before + 2.5 <= context.deadline <= after + 2.5
    assert context.logs == [] and context.origin is None
    assert 0 < context.get_remaining_time_in_millis() <= 2500
