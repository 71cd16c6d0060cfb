"""Every recorded AWS Step Functions case runs through the flows interpreter.

The cases live in `shared/conformance/asl/cases` beside the repository (found by walking up
from this file, or named by YUN_ASL_CASES); their README defines the format, the Lambda
behaviours and the comparison, which this driver follows. Tasks run on fake functions built
from each case's `functions`; timers fire on a fake clock, so no test waits.

Cases that do not pass yet are listed with their reason in `asl_expected_failures.json`
(and docs/flows.md) and run as strict xfails: fixing one makes the suite say so.
"""

from __future__ import annotations

import copy
import heapq
import json
import os
import re
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from yun.flows import (
    Cancel,
    Event,
    Execution,
    Failed,
    Interpreter,
    InvokeTask,
    Machine,
    Started,
    StartTimer,
    Succeeded,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    load_definition,
)

HERE = Path(__file__).resolve().parent
EXPECTED_FAILURES: dict[str, str] = json.loads(
    (HERE / "asl_expected_failures.json").read_text(encoding="utf-8")
)
ACCOUNT, REGION = "111111111111", "us-east-1"
MAX_EVENTS = 100_000


def find_cases() -> Path | None:
    override = os.environ.get("YUN_ASL_CASES")
    if override:
        return Path(override)
    for folder in HERE.parents:
        candidate = folder / "shared" / "conformance" / "asl" / "cases"
        if candidate.is_dir():
            return candidate
    return None


CASES_DIR = find_cases()
CASE_FILES = sorted(CASES_DIR.glob("*.json")) if CASES_DIR else []


# --- the README's comparison ------------------------------------------------------------

_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _parts(path: str) -> list[Any]:
    parts: list[Any] = []
    pos = 1
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        assert m is not None, path
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) is not None:
            parts.append(int(m.group(2)))
        else:
            parts.append(json.loads(m.group(3)))
        pos = m.end()
    return parts


def strip(value: Any, paths: list[str]) -> Any:
    value = copy.deepcopy(value)
    for path in paths:
        *head, last = _parts(path)
        cur = value
        for p in head:
            ok = (isinstance(cur, dict) and p in cur) or (
                isinstance(cur, list) and isinstance(p, int) and p < len(cur)
            )
            cur = cur[p] if ok else None
            if cur is None:
                break
        if isinstance(cur, dict):
            cur.pop(last, None)
        elif isinstance(cur, list) and isinstance(last, int) and last < len(cur):
            cur[last] = None
    return value


def passes(case: dict[str, Any], actual: dict[str, Any]) -> bool:
    paths = case.get("ignore_paths", [])
    return bool(strip(actual, paths) == strip(case["expected"], paths))


# --- the driver: fake functions, fake clock ---------------------------------------------


class FakeLambda:
    """The case's functions, behaving as the README says AWS's Python runtime does."""

    def __init__(self, functions: dict[str, dict[str, Any]]) -> None:
        self.functions = functions

    def invoke(self, command: InvokeTask) -> Event:
        name = command.function.split(":")[0]
        spec = self.functions.get(name)
        request_id = str(uuid.uuid4())
        if spec is None:
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:$LATEST"
            return TaskFailed(
                command.token,
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error "
                f"Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)",
            )
        behavior = spec["behavior"]
        if behavior == "identity":
            return TaskSucceeded(command.token, copy.deepcopy(command.payload))
        if behavior == "return":
            return TaskSucceeded(command.token, copy.deepcopy(spec["value"]))
        cause = {
            "errorMessage": spec["errorMessage"],
            "errorType": spec["errorType"],
            "requestId": request_id,
            "stackTrace": ['  File "/var/task/handler.py", line 2, in handler\n'],
        }
        return TaskFailed(command.token, spec["errorType"], json.dumps(cause))


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case to its end; the result shaped like the case's `expected`."""
    machine = Machine(name="machine", type=case.get("state_machine_type", "STANDARD"))
    interpreter = Interpreter(load_definition(case["definition"]), machine=machine)
    execution = Execution.create("execution", seed=case["name"])
    functions = FakeLambda(case.get("functions", {}))
    now = datetime(2024, 1, 1, tzinfo=UTC)
    events: deque[Event] = deque([Started(json.loads(json.dumps(case["input"])))])
    tasks: deque[InvokeTask] = deque()
    timers: list[tuple[datetime, int, str]] = []
    result: Succeeded | Failed | None = None
    for _ in range(MAX_EVENTS):
        if not events:
            if tasks:
                events.append(functions.invoke(tasks.popleft()))
            elif timers:
                fire_at, _seq, token = heapq.heappop(timers)
                now = max(now, fire_at)  # the fake clock jumps to the timer
                events.append(TimerFired(token))
            else:
                break
        step = interpreter.step(execution, events.popleft(), now)
        execution = step.execution
        for command in step.commands:
            if isinstance(command, InvokeTask):
                tasks.append(command)
            elif isinstance(command, StartTimer):
                heapq.heappush(timers, (command.fire_at, len(timers), command.token))
            elif isinstance(command, Cancel):
                tasks = deque(t for t in tasks if t.token != command.token)
                timers = [t for t in timers if t[2] != command.token]
                heapq.heapify(timers)
            elif isinstance(command, Succeeded | Failed):
                result = command
        if result is not None:
            break
    if isinstance(result, Succeeded):
        return {"status": "SUCCEEDED", "output": json.loads(json.dumps(result.output))}
    if isinstance(result, Failed):
        actual: dict[str, Any] = {"status": "FAILED", "error": result.error}
        if "cause_json" in case["expected"]:
            try:
                actual["cause_json"] = json.loads(result.cause or "")
            except ValueError:
                actual["cause_json"] = result.cause
        else:
            actual["cause"] = result.cause
        return actual
    return {"status": "STUCK", "execution": execution.to_json()}


# --- the tests --------------------------------------------------------------------------


def _params() -> list[Any]:
    if not CASE_FILES:
        reason = (
            "the ASL conformance cases are absent (looked for shared/conformance/asl/cases "
            "above this file; set YUN_ASL_CASES to point at them)"
        )
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-cases")]
    params = []
    for path in CASE_FILES:
        name = path.stem
        marks = []
        if name in EXPECTED_FAILURES:
            marks.append(pytest.mark.xfail(reason=EXPECTED_FAILURES[name], strict=True))
        params.append(pytest.param(path, marks=marks, id=name))
    return params


@pytest.mark.parametrize("case_file", _params())
def test_case_matches_aws(case_file: Path) -> None:
    case = json.loads(case_file.read_text(encoding="utf-8"))
    actual = run_case(case)
    paths = case.get("ignore_paths", [])
    assert strip(actual, paths) == strip(case["expected"], paths)


def test_expected_failures_name_existing_cases() -> None:
    if not CASE_FILES:
        pytest.skip("the ASL conformance cases are absent")
    names = {path.stem for path in CASE_FILES}
    assert sorted(set(EXPECTED_FAILURES) - names) == []
