"""The durable runner over a real SQLite store, fake functions and a fake wall clock.

A "crash" cancels the runner's task without letting it drain, then a fresh runner opens the
same database: what it finds is exactly what was committed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from yun.core import Conflict, NotFound, Status
from yun.flows import FakeWallClock, Runner, RunnerConfig
from yun.store import Store

Handler = Callable[[Any], Awaitable[Any]]


class Oops(Exception):
    pass


@dataclass
class Outcome:
    status: Status
    body: bytes = b""
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None


@dataclass
class Invoked:
    outcome: Outcome


@dataclass
class Functions:
    """Fake functions by name: async handlers of the decoded event."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[tuple[str, Any, str]] = field(default_factory=list)  # (function, event, id)
    in_flight: int = 0
    most_in_flight: int = 0
    throttle: int = 0  # answer this many calls with THROTTLED first

    async def invoke(self, tenant: str, target: str, body: bytes,
                     request_id: str | None = None) -> Invoked:
        name = target.split(":")[0]
        if name not in self.handlers:
            raise NotFound(f"function '{name}' does not exist")
        event = json.loads(body)
        self.calls.append((target, event, request_id or ""))
        if self.throttle:
            self.throttle -= 1
            return Invoked(Outcome(Status.THROTTLED, error_type="Overloaded",
                                   error_message="buffer full"))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            result = await self.handlers[name](event)
        except Oops as exc:
            return Invoked(Outcome(Status.ERROR, error_type="Oops", error_message=str(exc),
                                   traceback="Traceback...\n  File x\nOops: " + str(exc)))
        finally:
            self.in_flight -= 1
        return Invoked(Outcome(Status.SUCCESS, body=json.dumps(result).encode()))


@dataclass
class Harness:
    path: Path
    store: Store
    clock: FakeWallClock
    functions: Functions
    runner: Runner
    task: asyncio.Task[None]

    async def restart(self, *, crash: bool, config: RunnerConfig | None = None) -> None:
        """Stop (drain) or crash the runner, then run a fresh one over a reopened store."""
        if crash:
            self.task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await self.task
        else:
            self.runner.stop()
            await self.task
        await self.store.close()
        self.store = await Store.open(_url(self.path))
        self.runner, self.task = await _start(self.store, self.functions, self.clock, config)

    async def deploy(self, name: str, definition: dict[str, Any]) -> None:
        await self.store.put_flow("default", name, definition)

    async def finish(self, execution_id: str, *, advance: float = 0.0) -> Any:
        """Wait (in real time, briefly) for the execution to end, moving the fake clock."""
        for _ in range(400):
            row = await self.runner.describe("default", execution_id)
            if row.status not in ("PENDING", "RUNNING"):
                return row
            if advance:
                self.clock.advance(advance)
            await asyncio.sleep(0.005)
        raise AssertionError(f"{execution_id} did not finish: {row}")


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _start(store: Store, functions: Functions, clock: FakeWallClock,
                 config: RunnerConfig | None = None) -> tuple[Runner, asyncio.Task[None]]:
    runner = Runner(store, functions, clock=clock, config=config)
    ready = asyncio.Event()
    task = asyncio.create_task(runner.run(ready.set))
    await ready.wait()
    return runner, task


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    path = tmp_path / "yun.db"
    store = await Store.open(_url(path))
    clock, functions = FakeWallClock(), Functions()
    runner, task = await _start(store, functions, clock)
    harness = Harness(path, store, clock, functions, runner, task)
    try:
        yield harness
    finally:
        harness.runner.stop()
        await harness.task
        await harness.store.close()


def chain(*functions: str) -> dict[str, Any]:
    names = [f"S{i}" for i in range(len(functions))]
    states: dict[str, Any] = {}
    for i, fn in enumerate(functions):
        states[names[i]] = {"Type": "Task", "Resource": fn,
                            **({"Next": names[i + 1]} if i + 1 < len(names) else {"End": True})}
    return {"StartAt": names[0], "States": states}


async def add_one(event: Any) -> Any:
    return {"n": event["n"] + 1}


async def test_a_task_chain_runs_to_its_end_and_its_history_is_stored(h: Harness) -> None:
    h.functions.handlers["add"] = add_one
    await h.deploy("count", chain("add", "add", "add:live"))
    row, created = await h.runner.start("default", "count", {"n": 0}, name="first")
    assert created and row.id == "count:first"
    done = await h.finish("count:first")
    assert (done.status, done.output, done.error) == ("SUCCEEDED", {"n": 3}, None)
    assert [target for target, _, _ in h.functions.calls] == ["add", "add", "add:live"]
    history = await h.store.execution_history("default", "count", "first")
    types = [event["type"] for event in history]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert types.count("TaskStateEntered") == 3
    assert [event["id"] for event in history] == list(range(1, len(history) + 1))


async def test_each_task_is_invoked_with_its_stable_request_id(h: Harness) -> None:
    h.functions.handlers["add"] = add_one
    await h.deploy("count", chain("add", "add"))
    row, _ = await h.runner.start("default", "count", {"n": 0}, name="ids")
    await h.finish("count:ids")
    ids = [rid for _, _, rid in h.functions.calls]
    assert ids == [f"{row.uid}-1", f"{row.uid}-2"]


async def test_starting_the_same_name_twice_is_idempotent(h: Harness) -> None:
    h.functions.handlers["add"] = add_one
    await h.deploy("count", chain("add"))
    first, created = await h.runner.start("default", "count", {"n": 1}, name="once")
    again, created_again = await h.runner.start("default", "count", {"n": 1}, name="once")
    assert (created, created_again) == (True, False) and again.uid == first.uid
    await h.finish("count:once")
    late, _ = await h.runner.start("default", "count", {"n": 1}, name="once")
    assert late.status == "SUCCEEDED" and len(h.functions.calls) == 1
    with pytest.raises(Conflict, match="already exists with a different input"):
        await h.runner.start("default", "count", {"n": 2}, name="once")


async def test_a_wait_of_an_hour_is_a_timer_row_and_holds_no_memory(h: Harness) -> None:
    await h.deploy("nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
        "P": {"Type": "Pass", "Result": "woke", "End": True}}})
    row, _ = await h.runner.start("default", "nap", {}, name="n1")
    assert row.status == "RUNNING"
    assert await h.store.next_flow_timer() == pytest.approx(h.clock.time() + 3600)
    assert h.runner._live == {}  # waiting costs a row, not memory
    h.clock.advance(3599)
    await asyncio.sleep(0.05)
    assert (await h.runner.describe("default", "nap:n1")).status == "RUNNING"
    h.clock.advance(1)
    done = await h.finish("nap:n1")
    assert done.output == "woke"
    assert await h.store.next_flow_timer() is None


async def test_a_timer_survives_a_crash_and_fires_after_the_restart(h: Harness) -> None:
    await h.deploy("nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 60, "End": True}}})
    await h.runner.start("default", "nap", {"x": 1}, name="n2")
    await h.restart(crash=True)
    h.clock.advance(60)
    done = await h.finish("nap:n2")
    assert (done.status, done.output) == ("SUCCEEDED", {"x": 1})


async def test_a_task_in_flight_at_a_crash_is_reissued_with_the_same_token(h: Harness) -> None:
    release = asyncio.Event()

    async def slow(event: Any) -> Any:
        await release.wait()
        return {"done": event["k"]}

    h.functions.handlers["slow"] = slow
    await h.deploy("job", chain("slow"))
    row, _ = await h.runner.start("default", "job", {"k": 7}, name="j1")
    while not h.functions.calls:
        await asyncio.sleep(0.001)
    await h.restart(crash=True)  # the first call never answers
    release.set()
    done = await h.finish("job:j1")
    assert (done.status, done.output) == ("SUCCEEDED", {"done": 7})
    first, second = (rid for _, _, rid in h.functions.calls)
    assert first == f"{row.uid}-1"
    assert second.startswith(f"{row.uid}-1.") and second != first  # same token, new delivery
    stored = await h.store.get_execution("default", "job", "j1")
    assert stored.resumes == 1


async def test_a_graceful_stop_stores_the_results_of_calls_in_flight(h: Harness) -> None:
    release = asyncio.Event()

    async def slow(event: Any) -> Any:
        await release.wait()
        return "ok"

    h.functions.handlers["slow"] = slow
    await h.deploy("job", chain("slow", "slow"))
    await h.runner.start("default", "job", {}, name="drain")
    while not h.functions.calls:
        await asyncio.sleep(0.001)
    h.runner.stop()
    release.set()
    await h.task
    assert len(h.functions.calls) == 1  # the second task was not dispatched while draining
    history = await h.store.execution_history("default", "job", "drain")
    assert "LambdaFunctionSucceeded" in [e["type"] for e in history]
    await h.restart(crash=False)
    done = await h.finish("job:drain")
    assert done.status == "SUCCEEDED" and len(h.functions.calls) == 2


async def test_map_iterations_run_concurrently_up_to_max_concurrency(h: Harness) -> None:
    async def nap(event: Any) -> Any:
        await asyncio.sleep(0.01)
        return event * 2

    h.functions.handlers["double"] = nap
    await h.deploy("fan", {"StartAt": "M", "States": {"M": {
        "Type": "Map", "MaxConcurrency": 3, "End": True,
        "ItemProcessor": {"StartAt": "D", "States": {
            "D": {"Type": "Task", "Resource": "double", "End": True}}}}}})
    await h.runner.start("default", "fan", list(range(12)), name="m")
    done = await h.finish("fan:m")
    assert done.output == [2 * i for i in range(12)]
    assert h.functions.most_in_flight == 3


async def test_parallel_branches_run_at_the_same_time(h: Harness) -> None:
    both = asyncio.Barrier(2)

    async def meet(event: Any) -> Any:
        async with asyncio.timeout(2):
            await both.wait()  # only returns if the other branch runs concurrently
        return event

    h.functions.handlers["meet"] = meet
    branch = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "meet",
                                                "End": True}}}
    await h.deploy("par", {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "Branches": [branch, branch], "End": True}}})
    await h.runner.start("default", "par", 5, name="p")
    assert (await h.finish("par:p")).output == [5, 5]


async def test_retry_backs_off_on_the_clock_then_succeeds(h: Harness) -> None:
    attempts: list[int] = []

    async def flaky(event: Any) -> Any:
        attempts.append(1)
        if len(attempts) < 3:
            raise Oops(f"attempt {len(attempts)}")
        return "third time"

    h.functions.handlers["flaky"] = flaky
    await h.deploy("retry", {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "flaky", "End": True,
        "Retry": [{"ErrorEquals": ["Oops"], "IntervalSeconds": 10, "MaxAttempts": 3}]}}})
    await h.runner.start("default", "retry", {}, name="r")
    done = await h.finish("retry:r", advance=5)
    assert (done.status, done.output, len(attempts)) == ("SUCCEEDED", "third time", 3)


async def test_a_function_error_is_caught_with_the_lambda_shaped_cause(h: Harness) -> None:
    async def boom(event: Any) -> Any:
        raise Oops("no luck")

    h.functions.handlers["boom"] = boom
    await h.deploy("catch", {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "boom", "End": True,
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "H"}]},
        "H": {"Type": "Pass", "End": True}}})
    await h.runner.start("default", "catch", {"a": 1}, name="c")
    done = await h.finish("catch:c")
    assert done.output["a"] == 1 and done.output["err"]["Error"] == "Oops"
    cause = json.loads(done.output["err"]["Cause"])
    assert cause["errorMessage"] == "no luck" and cause["errorType"] == "Oops"
    assert cause["stackTrace"][-1] == "Oops: no luck\n"


async def test_a_missing_function_fails_with_resource_not_found(h: Harness) -> None:
    await h.deploy("ghost", chain("nobody"))
    await h.runner.start("default", "ghost", {}, name="g")
    done = await h.finish("ghost:g")
    assert (done.status, done.error) == ("FAILED", "Lambda.ResourceNotFoundException")
    assert "nobody" in done.cause


async def test_throttled_calls_are_retried_by_the_runner_with_new_ids(h: Harness) -> None:
    h.functions.handlers["add"] = add_one
    h.functions.throttle = 2
    await h.deploy("count", chain("add"))
    row, _ = await h.runner.start("default", "count", {"n": 0}, name="t")
    done = await h.finish("count:t", advance=0.5)
    assert done.output == {"n": 1}
    ids = [rid for _, _, rid in h.functions.calls]
    assert ids[0] == f"{row.uid}-1" and len(set(ids)) == 3
    assert all(rid.startswith(f"{row.uid}-1") for rid in ids)


async def test_throttling_past_the_deadline_fails_with_too_many_requests(h: Harness) -> None:
    await h.restart(crash=False, config=RunnerConfig(throttle_retry_seconds=1))
    h.functions.handlers["add"] = add_one
    h.functions.throttle = 1000
    await h.deploy("count", chain("add"))
    await h.runner.start("default", "count", {"n": 0}, name="tt")
    done = await h.finish("count:tt", advance=0.5)
    assert done.error == "Lambda.TooManyRequestsException"


async def test_a_runaway_loop_fails_at_the_transition_limit_alone(h: Harness) -> None:
    await h.restart(crash=False, config=RunnerConfig(max_transitions=50))
    h.functions.handlers["add"] = add_one
    await h.deploy("loop", {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}})
    await h.deploy("count", chain("add"))
    await h.runner.start("default", "loop", {}, name="l")
    await h.runner.start("default", "count", {"n": 0}, name="ok")
    looped = await h.finish("loop:l")
    assert (looped.status, looped.error) == ("FAILED", "States.Runtime")
    assert "max_transitions" in looped.cause
    assert (await h.finish("count:ok")).status == "SUCCEEDED"


async def test_a_history_past_its_limit_fails_the_execution(h: Harness) -> None:
    await h.restart(crash=False, config=RunnerConfig(max_history_events=20))
    h.functions.handlers["add"] = add_one
    await h.deploy("count", chain(*["add"] * 10))
    await h.runner.start("default", "count", {"n": 0}, name="long")
    done = await h.finish("count:long")
    assert (done.status, done.error) == ("FAILED", "States.Runtime")
    assert "max_history_events" in done.cause


async def test_an_interpreter_bug_fails_only_its_execution(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h.functions.handlers["add"] = add_one
    await h.deploy("count", chain("add", "add"))
    await h.deploy("other", chain("add"))
    await h.runner.start("default", "count", {"n": 0}, name="bad")
    interpreter = next(i for k, (_, i) in h.runner._interpreters.items() if k[1] == "count")

    def broken(*_args: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(interpreter, "step", broken)
    await h.runner.start("default", "other", {"n": 0}, name="fine")
    bad = await h.finish("count:bad")
    assert (bad.status, bad.error) == ("FAILED", "States.Runtime")
    assert "internal error" in bad.cause
    assert (await h.finish("other:fine")).status == "SUCCEEDED"


async def test_stop_aborts_a_waiting_execution_and_drops_its_timer(h: Harness) -> None:
    await h.deploy("nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    await h.runner.start("default", "nap", {}, name="s")
    stopped = await h.runner.stop_execution("default", "nap:s", "User.Stop", "enough")
    assert (stopped.status, stopped.error, stopped.cause) == ("ABORTED", "User.Stop", "enough")
    assert await h.store.next_flow_timer() is None
    history = await h.store.execution_history("default", "nap", "s")
    assert history[-1]["type"] == "ExecutionAborted"


async def start_held(h: Harness, name: str) -> asyncio.Event:
    """Start `job:NAME`, one task that answers "done" once the event returned is set."""
    release = asyncio.Event()

    async def held(event: Any) -> Any:
        await release.wait()
        return "done"

    h.functions.handlers["held"] = held
    await h.deploy("job", chain("held"))
    await h.runner.start("default", "job", {}, name=name)
    return release


def end_during_read(h: Harness, release: asyncio.Event, which: int) -> None:
    """Make the store's read number `which` of an execution stale: it reads the row, then sets
    `release` and lets the execution end before answering the row it read."""
    read = h.store.get_execution
    reads = 0

    async def stale(tenant: str, flow: str, name: str) -> Any:
        nonlocal reads
        reads += 1
        row = await read(tenant, flow, name)
        if reads == which:
            release.set()
            while (await read(tenant, flow, name)).status == "RUNNING":
                await asyncio.sleep(0.005)
        return row

    h.store.get_execution = stale  # type: ignore[method-assign]


async def test_wait_answers_when_the_execution_ends_or_after_the_wait(h: Harness) -> None:
    release = await start_held(h, "w")
    assert (await h.runner.wait("default", "job:w", 0.05)).status == "RUNNING"
    waiting = asyncio.create_task(h.runner.wait("default", "job:w", 5))
    await asyncio.sleep(0.01)
    release.set()
    assert (await waiting).output == "done"


async def test_wait_sees_an_end_committed_while_it_read_the_row(h: Harness) -> None:
    """The end commits while `wait` reads the row again after starting to watch, and the read
    returns the row from before the end: the commit it was told of is the newer news."""
    end_during_read(h, await start_held(h, "r"), 2)  # wait's read once it watches
    done = await asyncio.wait_for(h.runner.wait("default", "job:r", 60), 10)
    assert (done.status, done.output) == ("SUCCEEDED", "done")


async def test_stop_answers_at_once_for_an_execution_that_ended_as_it_was_read(
        h: Harness) -> None:
    """The execution ends between stop's read of the row and its watch: no commit follows to
    tell the watch, so stop must see the end by reading again, not wait 30 s for news."""
    end_during_read(h, await start_held(h, "s"), 1)  # stop's first read
    stopped = await asyncio.wait_for(h.runner.stop_execution("default", "job:s"), 10)
    assert (stopped.status, stopped.output) == ("SUCCEEDED", "done")


async def test_executions_of_another_tenant_are_not_found(h: Harness) -> None:
    await h.store.create_tenant("acme")
    h.functions.handlers["add"] = add_one
    await h.deploy("count", chain("add"))
    await h.runner.start("default", "count", {"n": 0}, name="mine")
    with pytest.raises(NotFound, match="execution 'count:mine' does not exist"):
        await h.runner.describe("acme", "count:mine")
    with pytest.raises(NotFound, match="flow 'count' does not exist"):
        await h.runner.start("acme", "count", {}, name="x")
    with pytest.raises(NotFound):
        await h.runner.stop_execution("acme", "count:mine")


async def test_tasks_of_a_disabled_tenant_fail_with_access_denied(h: Harness) -> None:
    h.runner.stop()
    await h.task

    async def active(tenant: str) -> object | None:
        return None if tenant == "default" else tenant

    h.runner = Runner(h.store, h.functions, clock=h.clock, tenant_active=active)
    ready = asyncio.Event()
    h.task = asyncio.create_task(h.runner.run(ready.set))
    await ready.wait()
    h.functions.handlers["add"] = add_one
    await h.deploy("count", chain("add"))
    await h.runner.start("default", "count", {"n": 0}, name="off")
    done = await h.finish("count:off")
    assert (done.status, done.error) == ("FAILED", "Lambda.AccessDeniedException")
    assert "disabled" in done.cause and h.functions.calls == []


async def test_a_flow_deleted_and_deployed_again_runs_its_new_definition(h: Harness) -> None:
    await h.deploy("again", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1,
                                                              "End": True}}})
    assert (await h.runner.start("default", "again", {}, name="a"))[0].output == 1
    await h.store.delete_flow("default", "again")
    await h.deploy("again", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 2,
                                                              "End": True}}})
    assert (await h.runner.start("default", "again", {}, name="a"))[0].output == 2


def test_limits_come_from_yun_flows_variables_and_are_validated() -> None:
    from yun.core import InvalidRequest

    config = RunnerConfig.from_env({"YUN_FLOWS_MAX_TRANSITIONS": "100",
                                    "YUN_FLOWS_DRAIN_SECONDS": "2.5"})
    assert (config.limits.max_transitions, config.drain_seconds) == (100, 2.5)
    with pytest.raises(InvalidRequest, match="YUN_FLOWS_MAX_HISTORY_EVENTS must be an int"):
        RunnerConfig.from_env({"YUN_FLOWS_MAX_HISTORY_EVENTS": "many"})
    with pytest.raises(InvalidRequest, match="max_inflight_tasks must be positive, was: 0"):
        RunnerConfig.from_env({"YUN_FLOWS_MAX_INFLIGHT_TASKS": "0"})


async def test_a_store_failure_keeps_the_events_and_the_step_is_retried(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from yun.core import PlatformError

    h.functions.handlers["add"] = add_one
    await h.deploy("nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "T"},
        "T": {"Type": "Task", "Resource": "add", "End": True}}})
    await h.runner.start("default", "nap", {"n": 1}, name="flaky-store")
    failures = {"read": 1, "commit": 1}
    read, commit = h.store.execution_by_uid, h.store.commit_steps

    async def failing_read(uid: str) -> Any:
        if failures["read"]:
            failures["read"] -= 1
            raise PlatformError("disk on fire")
        return await read(uid)

    async def failing_commit(writes: Any) -> None:
        if failures["commit"]:
            failures["commit"] -= 1
            raise PlatformError("disk on fire")
        await commit(writes)

    monkeypatch.setattr(h.store, "execution_by_uid", failing_read)
    monkeypatch.setattr(h.store, "commit_steps", failing_commit)
    h.clock.advance(10)
    done = await h.finish("nap:flaky-store", advance=0.1)
    assert (done.status, done.output) == ("SUCCEEDED", {"n": 2})
    assert failures == {"read": 0, "commit": 0}
