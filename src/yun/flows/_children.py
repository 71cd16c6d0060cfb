"""Map and Parallel: child frames inside the one execution, and how their ends combine.

A Parallel state starts one frame per branch; a Map starts one per item (or per batch, with
ItemBatcher), at most MaxConcurrency at a time, starting the next as one ends. Results are
kept in item order. A failed child fails the state (the other children are aborted) unless
failures are tolerated: DISTRIBUTED maps and maps with ToleratedFailureCount/Percentage
count failures against the threshold and fail with States.ExceedToleratedFailureThreshold
once it is passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yun.flows import _dataflow as flow
from yun.flows._errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    EvaluationError,
    StatesFailure,
)
from yun.flows._execution import CHILDREN, Frame
from yun.flows._json import Json, dumps, size_bytes, type_name
from yun.flows._retry import error_output
from yun.flows._states import MapState, ParallelState, State
from yun.flows._templates import Env

if TYPE_CHECKING:
    from yun.flows._run import Run


def run_parallel(r: Run, frame: Frame, state: Any) -> None:
    assert isinstance(state, ParallelState)
    env = r.env(frame, state, frame.input)
    value = flow.payload(state, env)
    r.record(frame, "ParallelStateStarted")
    count = len(state.branches)
    frame.status = CHILDREN
    frame.children = {"total": count, "done": 0, "running": count, "results": [None] * count}
    for index, block_id in enumerate(state.branches):
        block = r.d.blocks[block_id]
        child = r.new_frame(block_id, block.start_at, value, frame.id, index)
        r.ready.append(child.id)


def run_map(r: Run, frame: Frame, state: Any) -> None:
    assert isinstance(state, MapState)
    env = r.env(frame, state, frame.input)
    data, items = _items(state, env, frame.input)
    limit = flow.integer_setting(
        env, state.max_concurrency, state.max_concurrency_path, "MaxConcurrency"
    )
    count = flow.integer_setting(
        env, state.tolerated_failure_count, state.tolerated_failure_count_path,
        "ToleratedFailureCount",
    )  # fmt: skip
    percent = flow.integer_setting(
        env, state.tolerated_failure_percentage, state.tolerated_failure_percentage_path,
        "ToleratedFailurePercentage", floating=True,
    )  # fmt: skip
    if limit is not None and limit < 0:
        raise EvaluationError(RUNTIME, "MaxConcurrency cannot be negative.")
    if count is not None and count < 0:
        raise EvaluationError(RUNTIME, "ToleratedFailureCount cannot be negative.")
    if percent is not None and not 0 <= percent <= 100:
        raise EvaluationError(RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    selected = False
    if state.batcher is not None:
        items = _batches(r, frame, state, env, data, items)
        selected = True
    r.record(frame, "MapStateStarted", {"length": len(items)})
    frame.status = CHILDREN
    frame.children = {
        "items": items,
        "data": data,
        "selected": selected,  # ItemSelector already applied (batching does it up front)
        "total": len(items),
        "next": 0,
        "running": 0,
        "done": 0,
        "failed": 0,
        "results": [None] * len(items),
        "max": int(limit or 0),
        "count": count,
        "percent": percent,
        "tolerant": state.distributed or count is not None or percent is not None,
    }
    if not items:
        _finished(r, frame, state)
    else:
        _start_iterations(r, frame, state)


def _items(state: MapState, env: Env, raw: Json) -> tuple[Json, list[Json]]:
    """The value ItemSelector sees as `$`, and the items to iterate over."""
    if state.jsonata:
        items = state.items.evaluate(env) if state.items is not None else raw
        if isinstance(items, list):
            return raw, items
        node = state.items.node if state.items is not None else None
        if node is not None and node.kind == "ata":
            raise EvaluationError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{node.value}' specified for the field 'Items' "
                f"returned an unexpected result type. Expected 'array', but was "
                f"'{type_name(items)}' for value: {dumps(items)}",
            )
        raise EvaluationError(
            QUERY_EVALUATION_ERROR, f"Map state input must be an array but was: {dumps(items)}"
        )
    data = flow.effective_input(state, env)
    items = env.with_data(data).lookup(state.items_path, "ItemsPath")
    if not isinstance(items, list):
        raise EvaluationError(RUNTIME, f"Map state input must be an array but was: {dumps(items)}")
    return data, items


def _select(r: Run, frame: Frame, state: MapState, data: Json, index: int, item: Json) -> Json:
    if state.item_selector is None:
        return item
    env = r.env(frame, state, data, item=(index, item))
    return state.item_selector.evaluate(env)


def _batches(
    r: Run, frame: Frame, state: MapState, env: Env, data: Json, items: list[Json]
) -> list[Json]:
    """ItemBatcher: group the (selected) items into `{"Items": [...], "BatchInput": ...}`."""
    batcher = state.batcher
    assert batcher is not None
    most = flow.integer_setting(env, batcher.max_items, batcher.max_items_path, "MaxItemsPerBatch")
    max_bytes = flow.integer_setting(
        env, batcher.max_bytes, batcher.max_bytes_path, "MaxInputBytesPerBatch"
    )
    extra = batcher.batch_input.evaluate(env) if batcher.batch_input is not None else None
    batches: list[list[Json]] = []
    size = 0
    for index, item in enumerate(items):
        value = _select(r, frame, state, data, index, item)
        grown = size + size_bytes(value) + 1
        full = batches and (
            (most is not None and len(batches[-1]) >= most)
            or (max_bytes is not None and grown > max_bytes)
        )
        if not batches or full:
            batches.append([])
            size = 0
        batches[-1].append(value)
        size += size_bytes(value) + 1
    out: list[Json] = []
    for batch in batches:
        entry: dict[str, Json] = {"Items": batch}
        if extra is not None:
            entry["BatchInput"] = extra
        out.append(entry)
    return out


def _start_iterations(r: Run, frame: Frame, state: MapState) -> None:
    ch = frame.children
    items = ch["items"]
    block = r.d.blocks[state.processor]
    while ch["next"] < len(items) and (ch["max"] == 0 or ch["running"] < ch["max"]):
        index = ch["next"]
        ch["next"] = index + 1
        ch["running"] += 1
        value = items[index]
        if not ch["selected"]:
            value = _select(r, frame, state, ch["data"], index, value)
        r.record(frame, "MapIterationStarted", {"name": state.name, "index": index})
        child = r.new_frame(state.processor, block.start_at, value, frame.id, index)
        r.ready.append(child.id)


def child_done(
    r: Run,
    frame: Frame,
    state: State,
    child: Frame,
    output: Json,
    failure: tuple[str | None, str | None] | None,
) -> None:
    """An iteration or branch ended, with `output` or with `failure` (error, cause)."""
    ch = frame.children
    ch["running"] -= 1
    ch["done"] += 1
    is_map = isinstance(state, MapState)
    kind = "Map" if is_map else "Parallel"
    if is_map:
        outcome = "Failed" if failure else "Succeeded"
        details: dict[str, Json] = {"name": state.name, "index": child.index}
        r.record(frame, f"MapIteration{outcome}", details, after=child.last_event)
    else:
        frame.last_event = max(frame.last_event, child.last_event)
    if failure is not None:
        error, cause = failure
        if not (is_map and ch["tolerant"]):
            r.record(frame, f"{kind}StateFailed")
            raise StatesFailure(error, cause)
        ch["failed"] += 1
        ch["results"][child.index] = error_output(error, cause)
        if _threshold_exceeded(ch):
            r.record(frame, f"{kind}StateFailed")
            raise StatesFailure(
                EXCEED_TOLERATED_FAILURE_THRESHOLD,
                "The specified tolerated failure threshold was exceeded",
            )
    else:
        ch["results"][child.index] = output
    if isinstance(state, MapState):
        _start_iterations(r, frame, state)
    if ch["done"] == ch["total"]:
        _finished(r, frame, state)


def _threshold_exceeded(ch: dict[str, Any]) -> bool:
    failed, total = ch["failed"], ch["total"]
    count, percent = ch["count"], ch["percent"]
    if count is None and percent is None:
        return bool(failed > 0)
    over_count = count is not None and failed > count
    over_percent = percent is not None and failed * 100.0 / total > percent
    return bool(over_count or over_percent)


def _finished(r: Run, frame: Frame, state: State) -> None:
    results = frame.children["results"]
    kind = "Map" if isinstance(state, MapState) else "Parallel"
    r.record(frame, f"{kind}StateSucceeded")
    frame.children = {}
    r.check_size(state, results)
    env = r.env(frame, state, frame.input)
    output, assigned = flow.finish_result(state, env, results)
    r.exit_state(frame, state, output, assigned)
