"""Every AWS-recorded ASL case through the durable runner (store, group commits, timers from
rows, a fake wall clock), not just the pure interpreter: the runner must not change a single
result. Functions are the cases' fake ones; the comparison is the cases' README's.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from yun.core import NotFound, Status
from yun.flows import FakeWallClock, Runner
from yun.store import Store

_SPEC = importlib.util.spec_from_file_location(
    "asl_cases", Path(__file__).resolve().parents[2] / "conformance" / "test_asl_cases.py")
assert _SPEC is not None and _SPEC.loader is not None
cases = importlib.util.module_from_spec(_SPEC)
sys.modules["asl_cases"] = cases
_SPEC.loader.exec_module(cases)

# Cases whose results depend on something the runner sets differently from the pure test's
# driver, with the reason (also in docs/flows.md).
EXPECTED_DIFFERENCES: dict[str, str] = {
    "express.express_sync.query_runtime_memory": "Yun's flows are STANDARD state machines: "
    "the context object has $$.Execution.RedriveCount, which an EXPRESS execution lacks",
}


class Outcome:
    def __init__(self, status: Status, body: bytes = b"", error_type: str | None = None,
                 error_message: str | None = None) -> None:
        self.status, self.body = status, body
        self.error_type, self.error_message, self.traceback = error_type, error_message, None


class Invoked:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


class CaseFunctions:
    """The functions of the case being run (`functions` in its file)."""

    def __init__(self) -> None:
        self.functions: dict[str, dict[str, Any]] = {}

    async def invoke(self, tenant: str, target: str, body: bytes,
                     request_id: str | None = None) -> Invoked:
        spec = self.functions.get(target.split(":")[0])
        if spec is None:
            raise NotFound(f"function '{target}' does not exist")
        if spec["behavior"] == "identity":
            return Invoked(Outcome(Status.SUCCESS, body))
        if spec["behavior"] == "return":
            return Invoked(Outcome(Status.SUCCESS, json.dumps(spec["value"]).encode()))
        return Invoked(Outcome(Status.ERROR, error_type=spec["errorType"],
                               error_message=spec["errorMessage"]))


def actual_result(case: dict[str, Any], row: Any) -> dict[str, Any]:
    if row.status == "SUCCEEDED":
        return {"status": "SUCCEEDED", "output": row.output}
    if row.status != "FAILED":
        return {"status": row.status, "error": row.error, "cause": row.cause}
    actual: dict[str, Any] = {"status": "FAILED", "error": row.error}
    if "cause_json" in case["expected"]:
        try:
            actual["cause_json"] = json.loads(row.cause or "")
        except ValueError:
            actual["cause_json"] = row.cause
    else:
        actual["cause"] = row.cause
    return actual


async def run_all(folder: Path) -> tuple[int, dict[str, Any]]:
    store = await Store.open(f"sqlite+aiosqlite:///{folder / 'yun.db'}")
    clock, functions = FakeWallClock(), CaseFunctions()
    runner = Runner(store, functions, clock=clock)
    ready = asyncio.Event()
    task = asyncio.create_task(runner.run(ready.set))
    await ready.wait()
    mismatches: dict[str, Any] = {}
    try:
        for index, path in enumerate(cases.CASE_FILES):
            case = json.loads(path.read_text(encoding="utf-8"))
            functions.functions = case.get("functions", {})
            flow = f"case-{index}"
            await store.put_flow("default", flow, case["definition"])
            row, _ = await runner.start("default", flow, case["input"], name="execution")
            for _ in range(10_000):
                if row.status not in ("PENDING", "RUNNING"):
                    break
                row = await runner.wait("default", row.id, 0.01)
                if row.status == "RUNNING" and not runner._live and not runner._mail:
                    due = await store.next_flow_timer()
                    if due is not None:  # idle, waiting for a timer: jump to it
                        clock.advance(max(0.0, due - clock.time()))
            actual = actual_result(case, row)
            if not cases.passes(case, actual):
                mismatches[path.stem] = actual
    finally:
        runner.stop()
        await task
        await store.close()
    return len(cases.CASE_FILES), mismatches


@pytest.mark.skipif(not cases.CASE_FILES, reason="the ASL conformance cases are absent")
async def test_every_case_gives_the_same_result_through_the_durable_runner(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    total, mismatches = await run_all(tmp_path)
    with capsys.disabled():
        print(f"\nASL cases through the durable runner: {total - len(mismatches)}/{total} "
              f"match AWS")
    assert sorted(mismatches) == sorted(EXPECTED_DIFFERENCES), mismatches
