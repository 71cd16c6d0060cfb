"""One builder per state type: a `StateCompiler`'s fields assembled into a typed `State`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from yun.flows._choice import Rule, compile_rule
from yun.flows._compile import (
    FUNCTION_NAME,
    INVOKE_ARN,
    LAMBDA_ARN,
    BlockBuilder,
    StateCompiler,
    is_int,
)
from yun.flows._json import is_number
from yun.flows._states import (
    FUNCTION,
    INVOKE,
    ROOT_PATH,
    Batcher,
    ChoiceBranch,
    ChoiceState,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from yun.flows._timestamps import parse_timestamp


def compile_state(
    builder: BlockBuilder, block_id: str, name: str, spec: dict[str, Any], language: str
) -> State | None:
    """The typed state for `spec`, or None when it is too broken to build."""
    compiler = StateCompiler(builder, block_id, name, spec, language)
    kind = str(spec["Type"])
    return _BUILDERS[kind](compiler, compiler.common(kind))


def _pass(ctx: StateCompiler, common: dict[str, Any]) -> State:
    return PassState(**common, result=ctx.spec.get("Result"), has_result="Result" in ctx.spec)


def _task(ctx: StateCompiler, common: dict[str, Any]) -> State | None:
    resource = ctx.spec.get("Resource")
    kind, function = FUNCTION, None
    if not isinstance(resource, str):
        ctx.problem("field 'Resource' must be a string", resource)
        return None
    if INVOKE_ARN.fullmatch(resource):
        kind = INVOKE
        payload = ctx.spec.get("Arguments" if ctx.jsonata else "Parameters")
        if not isinstance(payload, dict) or not ({"FunctionName", "FunctionName.$"} & set(payload)):
            field_name = "Arguments" if ctx.jsonata else "Parameters"
            ctx.problem(
                f"field '{field_name}' must name the function in 'FunctionName' for "
                "arn:aws:states:::lambda:invoke"
            )
    elif (match := LAMBDA_ARN.fullmatch(resource)) is not None:
        function = match.group(1)
    elif FUNCTION_NAME.fullmatch(resource):
        function = resource
    else:
        ctx.problem(
            "field 'Resource' must be a function name, a Lambda function ARN or "
            "arn:aws:states:::lambda:invoke (Yun runs functions only)",
            resource,
        )
        return None
    timeout: Any = ctx.spec.get("TimeoutSeconds")
    heartbeat: Any = ctx.spec.get("HeartbeatSeconds")
    if is_int(timeout) and is_int(heartbeat) and heartbeat >= timeout:
        ctx.problem("field 'HeartbeatSeconds' must be smaller than TimeoutSeconds", heartbeat)
    positive = "a positive integer"
    return TaskState(
        **common,
        resource=resource,
        kind=kind,
        function=function,
        timeout_seconds=ctx.value("TimeoutSeconds", lambda v: is_int(v) and v > 0, positive),
        timeout_seconds_path=ctx.path("TimeoutSecondsPath", None, allow_null=False),
        heartbeat_seconds=ctx.value("HeartbeatSeconds", lambda v: is_int(v) and v > 0, positive),
        heartbeat_seconds_path=ctx.path("HeartbeatSecondsPath", None, allow_null=False),
    )


def _choice(ctx: StateCompiler, common: dict[str, Any]) -> State:
    specs = ctx.spec.get("Choices")
    branches = []
    if not isinstance(specs, list) or not specs:
        ctx.problem("field 'Choices' must be a non-empty array of rules", specs)
        specs = []
    for i, spec in enumerate(specs):
        where = f"Choices[{i}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("Next"), str):
            ctx.problem(f"field '{where}.Next' must be a state name")
            continue
        sub = StateCompiler(ctx.b, ctx.block_id, ctx.name, spec, ctx.language)
        if ctx.jsonata:
            for name in sorted(set(spec) - {"Condition", "Next", "Comment", "Assign", "Output"}):
                ctx.problem(f"field '{where}.{name}' is not allowed in a JSONata Choice rule")
            condition = sub.value(
                "Condition", lambda v: isinstance(v, bool), "a boolean or a JSONata expression"
            )
            if condition is None:
                ctx.problem(f"field '{where}.Condition' is required")
                continue
            rule = Rule("Condition", condition=condition)
        else:
            maybe = ctx.guard(where, partial(compile_rule, spec, where, True))
            if maybe is None:
                continue
            rule = maybe
        branches.append(
            ChoiceBranch(rule, spec["Next"], sub.template("Assign"), sub.template("Output"))
        )
    default = ctx.spec.get("Default")
    if default is not None and not isinstance(default, str):
        ctx.problem("field 'Default' must be a state name", default)
        default = None
    return ChoiceState(**common, choices=tuple(branches), default=default)


def _wait(ctx: StateCompiler, common: dict[str, Any]) -> State:
    present = [f for f in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if f in ctx.spec]
    if len(present) != 1:
        ctx.problem(
            "must have exactly one of Seconds, Timestamp, SecondsPath, TimestampPath", present
        )
    return WaitState(
        **common,
        seconds=ctx.value("Seconds", lambda v: is_int(v) and v >= 0, "an integer >= 0"),
        timestamp=ctx.value(
            "Timestamp",
            lambda v: isinstance(v, str) and parse_timestamp(v) is not None,
            "an ISO-8601 timestamp",
        ),
        seconds_path=ctx.path("SecondsPath", None, allow_null=False),
        timestamp_path=ctx.path("TimestampPath", None, allow_null=False),
    )


def _fail(ctx: StateCompiler, common: dict[str, Any]) -> State:
    for a, b in (("Error", "ErrorPath"), ("Cause", "CausePath")):
        if a in ctx.spec and b in ctx.spec:
            ctx.problem(f"fields '{a}' and '{b}' cannot both be present")
    text = "a string"
    return FailState(
        **common,
        error=ctx.value("Error", lambda v: isinstance(v, str), text),
        cause=ctx.value("Cause", lambda v: isinstance(v, str), text),
        error_path=ctx.expression("ErrorPath"),
        cause_path=ctx.expression("CausePath"),
    )


def _parallel(ctx: StateCompiler, common: dict[str, Any]) -> State:
    specs = ctx.spec.get("Branches")
    if not isinstance(specs, list) or not specs:
        ctx.problem("field 'Branches' must be a non-empty array", specs)
        specs = []
    ids = []
    for i, spec in enumerate(specs):
        block_id = f"{ctx.block_id}/{ctx.name}[{i}]"
        ctx.b.block(block_id, spec, f"state '{ctx.name}': Branches[{i}]", isolated=False)
        ids.append(block_id)
    return ParallelState(**common, branches=tuple(ids))


def _map(ctx: StateCompiler, common: dict[str, Any]) -> State:
    spec = ctx.spec
    field_name = "ItemProcessor" if "ItemProcessor" in spec else "Iterator"
    processor = spec.get(field_name)
    if "ItemProcessor" in spec and "Iterator" in spec:
        ctx.problem("fields 'ItemProcessor' and 'Iterator' cannot both be present")
    config = processor.get("ProcessorConfig", {}) if isinstance(processor, dict) else {}
    mode = config.get("Mode", "INLINE") if isinstance(config, dict) else "INLINE"
    if mode not in ("INLINE", "DISTRIBUTED"):
        ctx.problem(
            f"field '{field_name}.ProcessorConfig.Mode' must be INLINE or DISTRIBUTED", mode
        )
    block_id = f"{ctx.block_id}/{ctx.name}"
    body = (
        {k: v for k, v in processor.items() if k != "ProcessorConfig"}
        if isinstance(processor, dict)
        else processor
    )
    ctx.b.block(block_id, body, f"state '{ctx.name}': {field_name}", isolated=mode == "DISTRIBUTED")
    if ctx.jsonata:
        selector = ctx.template("ItemSelector")
    else:
        if "ItemSelector" in spec and "Parameters" in spec:
            ctx.problem("fields 'ItemSelector' and 'Parameters' cannot both be present")
        selector = ctx.template("ItemSelector") or common.pop("parameters", None)
        common["parameters"] = None
    count = "a non-negative integer"
    return MapState(
        batcher=_batcher(ctx),
        **common,
        processor=block_id,
        distributed=mode == "DISTRIBUTED",
        items_path=ctx.path("ItemsPath", ROOT_PATH, allow_null=False) or ROOT_PATH,
        items=ctx.template("Items"),
        item_selector=selector,
        max_concurrency=ctx.value("MaxConcurrency", lambda v: is_int(v) and v >= 0, count),
        max_concurrency_path=ctx.path("MaxConcurrencyPath", None, allow_null=False),
        tolerated_failure_count=ctx.value(
            "ToleratedFailureCount", lambda v: is_int(v) and v >= 0, count
        ),
        tolerated_failure_count_path=ctx.path("ToleratedFailureCountPath", None, allow_null=False),
        tolerated_failure_percentage=ctx.value(
            "ToleratedFailurePercentage",
            lambda v: is_number(v) and 0 <= v <= 100,
            "a number from 0 to 100",
        ),
        tolerated_failure_percentage_path=ctx.path(
            "ToleratedFailurePercentagePath", None, allow_null=False
        ),
    )


def _batcher(ctx: StateCompiler) -> Batcher | None:
    spec = ctx.spec.get("ItemBatcher")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        ctx.problem("field 'ItemBatcher' must be an object", spec)
        return None
    allowed = {
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
        "BatchInput",
    }
    for name in sorted(set(spec) - allowed):
        ctx.problem(f"field 'ItemBatcher.{name}' is not allowed")
    sub = StateCompiler(ctx.b, ctx.block_id, ctx.name, spec, ctx.language)
    positive = "a positive integer"
    return Batcher(
        max_items=sub.value("MaxItemsPerBatch", lambda v: is_int(v) and v > 0, positive),
        max_items_path=sub.path("MaxItemsPerBatchPath", None, allow_null=False),
        max_bytes=sub.value("MaxInputBytesPerBatch", lambda v: is_int(v) and v > 0, positive),
        max_bytes_path=sub.path("MaxInputBytesPerBatchPath", None, allow_null=False),
        batch_input=sub.template("BatchInput"),
    )


_BUILDERS: dict[str, Callable[[StateCompiler, dict[str, Any]], State | None]] = {
    "Pass": _pass,
    "Task": _task,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": lambda ctx, common: SucceedState(**common),
    "Fail": _fail,
    "Parallel": _parallel,
    "Map": _map,
}
