"""Flows: definitions, executions, their history and timers. Each call runs inside the
caller's transaction; `yun.store._store` owns transactions, retries and error mapping.

The runner's one write per step is `commit`: the execution's new value, its new history
rows and its timer changes in one transaction, so a crash leaves either all of a step or
none of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import Conflict, NotFound
from yun.store import _tenants
from yun.store._models import ExecutionWrite, Flow, FlowExecution, FlowTimer
from yun.store._schema import flow_executions, flow_history, flow_timers, flow_versions, flows

# Statuses of an execution that has not ended (PENDING: stored, its start not yet stepped).
UNFINISHED = ("PENDING", "RUNNING")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- flows -------------------------------------------------------------------------------


async def _find_flow(
    conn: AsyncConnection, tenant: str, name: str, *, lock: bool = False
) -> sa.RowMapping | None:
    query = sa.select(flows).where(flows.c.tenant == tenant, flows.c.name == name)
    if lock:
        query = query.with_for_update()  # PostgreSQL; SQLite writers are serial already
    return (await conn.execute(query)).mappings().first()


async def _definition(conn: AsyncConnection, tenant: str, name: str, number: int) -> str | None:
    query = sa.select(flow_versions.c.definition).where(
        flow_versions.c.tenant == tenant,
        flow_versions.c.flow == name,
        flow_versions.c.number == number,
    )
    return (await conn.execute(query)).scalar_one_or_none()


def _missing_flow(name: str) -> NotFound:
    return NotFound(f"flow '{name}' does not exist")


async def put_flow(
    conn: AsyncConnection, tenant: str, name: str, definition: dict[str, Any], now: float
) -> tuple[Flow, bool]:
    """A new version of `name` (version 1 for a new flow), and True; the latest version and
    False when its definition is the same."""
    await _tenants.require(conn, tenant, lock=True)
    row = await _find_flow(conn, tenant, name, lock=True)
    text = dumps(definition)
    if row is None:
        number, created = 1, now
        await conn.execute(
            sa.insert(flows).values(
                tenant=tenant, name=name, latest_version=1, created_at=now, updated_at=now
            )
        )
    else:
        latest = await _definition(conn, tenant, name, row["latest_version"])
        if latest is not None and json.loads(latest) == definition:
            return Flow(name, row["latest_version"], json.loads(latest), row["created_at"],
                        row["updated_at"]), False  # fmt: skip
        number, created = row["latest_version"] + 1, row["created_at"]
        await conn.execute(
            sa.update(flows)
            .where(flows.c.tenant == tenant, flows.c.name == name)
            .values(latest_version=number, updated_at=now)
        )
    await conn.execute(
        sa.insert(flow_versions).values(
            tenant=tenant, flow=name, number=number, definition=text, created_at=now
        )
    )
    return Flow(name, number, definition, created, now), True


async def get_flow(
    conn: AsyncConnection, tenant: str, name: str, version: int | None = None
) -> Flow:
    """The latest version, or `version` (which may be older than the latest)."""
    row = await _find_flow(conn, tenant, name)
    if row is None:
        raise _missing_flow(name)
    number = row["latest_version"] if version is None else version
    text = await _definition(conn, tenant, name, number)
    if text is None:
        raise NotFound(f"flow '{name}' has no version {number}")
    updated = row["updated_at"] if number == row["latest_version"] else row["created_at"]
    return Flow(name, number, json.loads(text), row["created_at"], updated)


async def list_flows(conn: AsyncConnection, tenant: str) -> list[Flow]:
    query = (
        sa.select(flows, flow_versions.c.definition)
        .join(
            flow_versions,
            sa.and_(
                flow_versions.c.tenant == flows.c.tenant,
                flow_versions.c.flow == flows.c.name,
                flow_versions.c.number == flows.c.latest_version,
            ),
        )
        .where(flows.c.tenant == tenant)
        .order_by(flows.c.name)
    )
    rows = (await conn.execute(query)).mappings()
    return [
        Flow(r["name"], r["latest_version"], json.loads(r["definition"]), r["created_at"],
             r["updated_at"])
        for r in rows
    ]


async def delete_flow(conn: AsyncConnection, tenant: str, name: str) -> None:
    """Remove the flow, its versions, and its finished executions with their history.
    Conflict while any execution of it is running: stop those first."""
    if await _find_flow(conn, tenant, name, lock=True) is None:
        raise _missing_flow(name)
    of_flow = sa.and_(flow_executions.c.tenant == tenant, flow_executions.c.flow == name)
    running = (
        await conn.execute(
            sa.select(flow_executions.c.name)
            .where(of_flow, flow_executions.c.status.in_(UNFINISHED))
            .order_by(flow_executions.c.name)
            .limit(6)
        )
    ).scalars().all()
    if running:
        shown = ", ".join(repr(n) for n in running[:5]) + (", ..." if len(running) > 5 else "")
        raise Conflict(f"flow '{name}' has running executions ({shown}); stop them first "
                       f"(yun flow stop {name}:NAME)")  # fmt: skip
    uids = sa.select(flow_executions.c.uid).where(of_flow).scalar_subquery()
    await conn.execute(sa.delete(flow_history).where(flow_history.c.execution.in_(uids)))
    await conn.execute(sa.delete(flow_timers).where(flow_timers.c.execution.in_(uids)))
    await conn.execute(sa.delete(flow_executions).where(of_flow))
    await conn.execute(sa.delete(flows).where(flows.c.tenant == tenant, flows.c.name == name))


# --- executions --------------------------------------------------------------------------


def _columns(with_state: bool) -> list[sa.ColumnElement[Any]]:
    cols: list[sa.ColumnElement[Any]] = [c for c in flow_executions.c if c.name != "state"]
    return [*cols, flow_executions.c.state] if with_state else cols


def _execution(row: sa.RowMapping) -> FlowExecution:
    state = row.get("state")
    return FlowExecution(
        uid=row["uid"],
        tenant=row["tenant"],
        flow=row["flow"],
        name=row["name"],
        flow_version=row["flow_version"],
        status=row["status"],
        input=json.loads(row["input"]),
        output=None if row["output"] is None else json.loads(row["output"]),
        error=row["error"],
        cause=row["cause"],
        started_at=row["started_at"],
        stopped_at=row["stopped_at"],
        updated_at=row["updated_at"],
        history_events=row["history_events"],
        resumes=row["resumes"],
        state=None if state is None else json.loads(state),
    )


async def find_execution(
    conn: AsyncConnection, tenant: str, flow: str, name: str, *, with_state: bool = False
) -> FlowExecution | None:
    query = sa.select(*_columns(with_state)).where(
        flow_executions.c.tenant == tenant,
        flow_executions.c.flow == flow,
        flow_executions.c.name == name,
    )
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _execution(row)


async def get_execution(
    conn: AsyncConnection, tenant: str, flow: str, name: str, *, with_state: bool = False
) -> FlowExecution:
    found = await find_execution(conn, tenant, flow, name, with_state=with_state)
    if found is None:
        raise NotFound(f"execution '{flow}:{name}' does not exist")
    return found


async def execution_by_uid(conn: AsyncConnection, uid: str) -> FlowExecution | None:
    query = sa.select(*_columns(True)).where(flow_executions.c.uid == uid)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _execution(row)


async def start_execution(
    conn: AsyncConnection,
    tenant: str,
    flow: str,
    flow_version: int,
    name: str,
    input: Any,
    first: ExecutionWrite,
    now: float,
) -> tuple[FlowExecution, bool]:
    """Store a new execution with its first step; (it, True). If the name is taken, the
    existing one and False, and nothing is written. NotFound if the flow was deleted."""
    existing = await find_execution(conn, tenant, flow, name)
    if existing is not None:
        return existing, False
    row = await _find_flow(conn, tenant, flow, lock=True)
    if row is None:
        raise _missing_flow(flow)
    # A concurrent start of the same name (PostgreSQL) fails on the unique constraint; the
    # store retries the transaction, which then finds the winner above.
    await conn.execute(
        sa.insert(flow_executions).values(
            uid=first.uid,
            tenant=tenant,
            flow=flow,
            name=name,
            flow_version=flow_version,
            status="PENDING",
            input=dumps(input),
            state="{}",
            started_at=now,
            updated_at=now,
            history_events=0,
            resumes=0,
        )
    )
    await commit(conn, [first], now)
    created = await find_execution(conn, tenant, flow, name)
    assert created is not None
    return created, True


async def list_executions(
    conn: AsyncConnection, tenant: str, flow: str, limit: int
) -> list[FlowExecution]:
    """Newest first. NotFound if the flow does not exist."""
    if await _find_flow(conn, tenant, flow) is None:
        raise _missing_flow(flow)
    query = (
        sa.select(*_columns(False))
        .where(flow_executions.c.tenant == tenant, flow_executions.c.flow == flow)
        .order_by(flow_executions.c.started_at.desc(), flow_executions.c.name)
        .limit(limit)
    )
    return [_execution(row) for row in (await conn.execute(query)).mappings()]


async def history(
    conn: AsyncConnection, tenant: str, flow: str, name: str, after: int, limit: int
) -> list[dict[str, Any]]:
    """Events with `id > after`, ascending."""
    execution = await get_execution(conn, tenant, flow, name)
    query = (
        sa.select(flow_history.c.event)
        .where(flow_history.c.execution == execution.uid, flow_history.c.id > after)
        .order_by(flow_history.c.id)
        .limit(limit)
    )
    return [json.loads(text) for text in (await conn.execute(query)).scalars()]


async def commit(conn: AsyncConnection, writes: Sequence[ExecutionWrite], now: float) -> None:
    """Apply each step: execution row, history rows, timer rows."""
    for w in writes:
        history_rows = [{"execution": w.uid, "id": i, "event": dumps(e)} for i, e in w.history]
        values: dict[str, Any] = {
            "status": w.status,
            "state": dumps(w.state),
            "output": dumps(w.output) if w.status == "SUCCEEDED" else None,
            "error": w.error,
            "cause": w.cause,
            "stopped_at": w.stopped_at,
            "updated_at": now,
            "history_events": flow_executions.c.history_events + len(history_rows),
        }
        if w.resumed:
            values["resumes"] = flow_executions.c.resumes + 1
        await conn.execute(
            sa.update(flow_executions).where(flow_executions.c.uid == w.uid).values(**values)
        )
        if history_rows:
            await conn.execute(sa.insert(flow_history), history_rows)
        gone = [*w.timers_done, *(token for token, _ in w.timers)]
        if gone:
            # Replacing a timer (a resume re-issues it) is delete + insert: no upsert syntax
            # that both SQLite and PostgreSQL speak through SQLAlchemy Core.
            await conn.execute(
                sa.delete(flow_timers).where(
                    flow_timers.c.execution == w.uid, flow_timers.c.token.in_(gone)
                )
            )
        if w.timers:
            await conn.execute(
                sa.insert(flow_timers),
                [{"execution": w.uid, "token": t, "fire_at": at} for t, at in w.timers],
            )


async def unfinished(
    conn: AsyncConnection, after_uid: str, limit: int
) -> list[FlowExecution]:
    """Executions that have not ended, with their state, by uid: page with the last uid."""
    query = (
        sa.select(*_columns(True))
        .where(flow_executions.c.status.in_(UNFINISHED), flow_executions.c.uid > after_uid)
        .order_by(flow_executions.c.uid)
        .limit(limit)
    )
    return [_execution(row) for row in (await conn.execute(query)).mappings()]


async def next_timer(conn: AsyncConnection) -> float | None:
    """When the earliest timer is due (epoch seconds), or None without timers."""
    earliest = (await conn.execute(sa.select(sa.func.min(flow_timers.c.fire_at)))).scalar()
    return None if earliest is None else float(earliest)


async def due_timers(conn: AsyncConnection, until: float, limit: int) -> list[FlowTimer]:
    """Timers due at `until` or before, earliest first."""
    query = (
        sa.select(flow_timers)
        .where(flow_timers.c.fire_at <= until)
        .order_by(flow_timers.c.fire_at, flow_timers.c.execution, flow_timers.c.token)
        .limit(limit)
    )
    return [
        FlowTimer(row["execution"], row["token"], row["fire_at"])
        for row in (await conn.execute(query)).mappings()
    ]


async def delete_timers(conn: AsyncConnection, uid: str, tokens: Sequence[str]) -> None:
    await conn.execute(
        sa.delete(flow_timers).where(
            flow_timers.c.execution == uid, flow_timers.c.token.in_(list(tokens))
        )
    )
