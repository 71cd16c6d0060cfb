"""Flows in the store (`yun.store`), on every backend: versions, idempotent starts, atomic
steps, timers."""

from __future__ import annotations

import pytest

from yun.core.errors import Conflict, NotFound
from yun.store import ExecutionWrite, Store

DEFINITION = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
OTHER = {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}}


def first_step(uid: str, **changes: object) -> ExecutionWrite:
    values: dict[str, object] = {
        "uid": uid, "status": "RUNNING", "state": {"name": "e1", "frames": {}},
        "history": [(1, {"id": 1, "type": "ExecutionStarted"})],
    }
    values.update(changes)
    return ExecutionWrite(**values)  # type: ignore[arg-type]


async def test_deploying_a_changed_definition_makes_a_new_version(any_store: Store) -> None:
    flow, created = await any_store.put_flow("default", "orders", DEFINITION)
    assert (flow.version, created) == (1, True)
    same, created_again = await any_store.put_flow("default", "orders", DEFINITION)
    assert (same.version, created_again) == (1, False)
    changed, _ = await any_store.put_flow("default", "orders", OTHER)
    assert changed.version == 2
    assert (await any_store.get_flow("default", "orders")).definition == OTHER
    assert (await any_store.get_flow("default", "orders", 1)).definition == DEFINITION
    assert [f.name for f in await any_store.list_flows("default")] == ["orders"]


async def test_flows_are_per_tenant(any_store: Store) -> None:
    await any_store.create_tenant("acme")
    await any_store.put_flow("default", "orders", DEFINITION)
    assert await any_store.list_flows("acme") == []
    with pytest.raises(NotFound, match="flow 'orders' does not exist"):
        await any_store.get_flow("acme", "orders")
    with pytest.raises(NotFound):
        await any_store.put_flow("nobody", "orders", DEFINITION)


async def test_a_start_writes_the_execution_and_its_first_step_together(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    timers = [("e1#1", 1_800_000_000.0)]
    row, created = await any_store.start_execution(
        "default", "orders", 1, "e1", {"id": 1}, first_step("u1", timers=timers))
    assert created and (row.id, row.status, row.input, row.history_events) == (
        "orders:e1", "RUNNING", {"id": 1}, 1)
    assert await any_store.next_flow_timer() == 1_800_000_000.0
    events = await any_store.execution_history("default", "orders", "e1")
    assert events == [{"id": 1, "type": "ExecutionStarted"}]


async def test_starting_a_taken_name_returns_the_existing_execution(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    await any_store.start_execution("default", "orders", 1, "e1", 1, first_step("u1"))
    again, created = await any_store.start_execution("default", "orders", 1, "e1", 2,
                                                 first_step("u2"))
    assert (again.uid, again.input, created) == ("u1", 1, False)
    assert await any_store.execution_by_uid("u2") is None


async def test_a_step_commits_value_history_and_timers_at_once(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    await any_store.start_execution("default", "orders", 1, "e1", None,
                                first_step("u1", timers=[("e1#1", 100.0)]))
    done = ExecutionWrite(uid="u1", status="SUCCEEDED", state={"name": "e1", "x": 1},
                          output={"ok": True}, stopped_at=5.0,
                          history=[(2, {"id": 2}), (3, {"id": 3})],
                          timers_done=["e1#1"], resumed=True)
    await any_store.commit_steps([done])
    row = await any_store.get_execution("default", "orders", "e1", with_state=True)
    assert (row.status, row.output, row.history_events, row.resumes) == (
        "SUCCEEDED", {"ok": True}, 3, 1)
    assert row.state == {"name": "e1", "x": 1}
    assert await any_store.next_flow_timer() is None
    assert await any_store.unfinished_executions() == []


async def test_a_failing_write_in_a_group_commit_writes_nothing(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    await any_store.start_execution("default", "orders", 1, "a", None, first_step("ua"))
    await any_store.start_execution("default", "orders", 1, "b", None, first_step("ub"))
    good = ExecutionWrite(uid="ua", status="RUNNING", state={"n": 2}, history=[(2, {"id": 2})])
    clash = ExecutionWrite(uid="ub", status="RUNNING", state={"n": 2},
                           history=[(1, {"id": 1})])  # event 1 exists: the write fails
    with pytest.raises(Conflict):
        await any_store.commit_steps([good, clash])
    assert (await any_store.get_execution("default", "orders", "a")).history_events == 1


async def test_due_timers_come_earliest_first(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    await any_store.start_execution("default", "orders", 1, "a", None,
                                first_step("ua", timers=[("a#1", 30.0), ("a#2", 10.0)]))
    due = await any_store.due_flow_timers(20.0)
    assert [(t.execution, t.token) for t in due] == [("ua", "a#2")]
    await any_store.delete_flow_timers("ua", ["a#2"])
    assert await any_store.next_flow_timer() == 30.0


async def test_unfinished_executions_page_by_uid(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    for uid in ("u3", "u1", "u2"):
        await any_store.start_execution("default", "orders", 1, uid, None, first_step(uid))
    first = await any_store.unfinished_executions(limit=2)
    rest = await any_store.unfinished_executions(first[-1].uid, limit=2)
    assert [r.uid for r in first + rest] == ["u1", "u2", "u3"]
    assert first[0].state == {"name": "e1", "frames": {}}


async def test_a_flow_with_a_running_execution_cannot_be_deleted(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    await any_store.start_execution("default", "orders", 1, "busy", None,
                                first_step("u1", timers=[("busy#1", 9.0)]))
    with pytest.raises(Conflict, match="running executions \\('busy'\\)"):
        await any_store.delete_flow("default", "orders")
    await any_store.commit_steps([ExecutionWrite(uid="u1", status="ABORTED", state={},
                                             timers_done=["busy#1"])])
    await any_store.delete_flow("default", "orders")
    with pytest.raises(NotFound):
        await any_store.get_execution("default", "orders", "busy")
    assert await any_store.execution_by_uid("u1") is None
    with pytest.raises(NotFound):
        await any_store.delete_flow("default", "orders")


async def test_executions_list_newest_first(any_store: Store) -> None:
    await any_store.put_flow("default", "orders", DEFINITION)
    for name in ("old", "new"):
        await any_store.start_execution("default", "orders", 1, name, None, first_step(name))
    assert [r.name for r in await any_store.list_executions("default", "orders")] == ["new", "old"]
    with pytest.raises(NotFound):
        await any_store.list_executions("default", "nope")
