"""Async invocations' status and results, and dead letters."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import InvalidRequest, NotFound
from yun.store._models import DeadLetter, Invocation
from yun.store._schema import dead_letters, invocations

QUEUED, RUNNING, SUCCEEDED, DEAD = "queued", "running", "succeeded", "dead"


def insert_absent(conn: AsyncConnection, table: sa.Table) -> sa.Insert:
    """INSERT that does nothing when the primary key exists (one statement, no read first)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()  # type: ignore[no-any-return]


async def queued(conn: AsyncConnection, id: str, tenant: str, target: str, source: str,
                 now: float) -> None:
    """Insert if absent: a repeated submit (same idempotency key) keeps the first's state."""
    await conn.execute(insert_absent(conn, invocations).values(
        id=id, tenant=tenant, target=target, source=source, status=QUEUED, attempts=0,
        result=None, errors="[]", created_at=now, updated_at=now))


async def begin_attempt(conn: AsyncConnection, id: str, tenant: str, target: str, source: str,
                        now: float) -> Invocation:
    """Count an attempt, unless it already ended (a job delivered again after its outcome
    was stored but before the queue heard `done`): then the row as it is."""
    row = await _row(conn, id)
    if row is None:  # the submitter died between queueing the job and recording it
        row = Invocation(id=id, tenant=tenant, target=target, source=source, status=RUNNING,
                         attempts=1, result=None, errors=[], created_at=now, updated_at=now)
        await conn.execute(invocations.insert().values(
            id=id, tenant=tenant, target=target, source=source, status=RUNNING, attempts=1,
            result=None, errors="[]", created_at=now, updated_at=now))
        return row
    if row.status in (SUCCEEDED, DEAD):
        return row
    await conn.execute(invocations.update().where(invocations.c.id == id).values(
        status=RUNNING, attempts=invocations.c.attempts + 1, updated_at=now))
    return replace(row, status=RUNNING, attempts=row.attempts + 1, updated_at=now)


async def throttled(conn: AsyncConnection, id: str, now: float) -> None:
    """The attempt was refused before it ran: it does not count."""
    await conn.execute(invocations.update().where(invocations.c.id == id).values(
        status=QUEUED, attempts=invocations.c.attempts - 1, updated_at=now))


async def failed(conn: AsyncConnection, id: str, error: dict[str, Any], status: str,
                 now: float) -> Invocation:
    row = await _require(conn, id)
    errors = [*row.errors, error]
    await conn.execute(invocations.update().where(invocations.c.id == id).values(
        status=status, errors=json.dumps(errors), updated_at=now))
    return await _require(conn, id)


async def succeeded(conn: AsyncConnection, id: str, result: bytes, now: float) -> None:
    await conn.execute(invocations.update().where(invocations.c.id == id).values(
        status=SUCCEEDED, result=result, updated_at=now))


async def dead(conn: AsyncConnection, letter: DeadLetter) -> None:
    """Status and dead letter in one transaction: a dead invocation always has its letter."""
    await conn.execute(invocations.update().where(invocations.c.id == letter.id).values(
        status=DEAD, errors=json.dumps(letter.errors), updated_at=letter.dead_at))
    await conn.execute(dead_letters.delete().where(dead_letters.c.id == letter.id))
    await conn.execute(dead_letters.insert().values(
        id=letter.id, tenant=letter.tenant, target=letter.target, source=letter.source,
        body=letter.body, errors=json.dumps(letter.errors), enqueued_at=letter.enqueued_at,
        dead_at=letter.dead_at))


async def get(conn: AsyncConnection, tenant: str, id: str) -> Invocation:
    row = await _row(conn, id)
    if row is None or row.tenant != tenant:
        raise NotFound(f"invocation '{id}' does not exist")
    return row


async def list_dead(conn: AsyncConnection, tenant: str, limit: int) -> list[DeadLetter]:
    if limit < 1:
        raise InvalidRequest(f"limit must be at least 1, was: {limit}")
    query = (sa.select(dead_letters).where(dead_letters.c.tenant == tenant)
             .order_by(dead_letters.c.dead_at.desc(), dead_letters.c.id).limit(limit))
    return [_letter(r) for r in (await conn.execute(query)).mappings()]


async def get_dead(conn: AsyncConnection, tenant: str, id: str) -> DeadLetter:
    query = sa.select(dead_letters).where(dead_letters.c.tenant == tenant,
                                          dead_letters.c.id == id)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"dead letter '{id}' does not exist")
    return _letter(row)


async def requeued(conn: AsyncConnection, tenant: str, id: str, now: float) -> DeadLetter:
    """Before its job goes back in the queue: the invocation starts over (its earlier errors
    stay in its history); the letter stays until `drop_letter`, so a crash in between
    leaves something to redrive again."""
    letter = await get_dead(conn, tenant, id)
    await conn.execute(invocations.update().where(invocations.c.id == id).values(
        status=QUEUED, attempts=0, updated_at=now))
    return letter


async def drop_letter(conn: AsyncConnection, letter: DeadLetter) -> None:
    """Only this letter: if the redriven job already died again, its new letter stays."""
    await conn.execute(dead_letters.delete().where(
        dead_letters.c.id == letter.id, dead_letters.c.dead_at == letter.dead_at))


async def purge(conn: AsyncConnection, tenant: str, id: str | None) -> int:
    if id is not None:
        await get_dead(conn, tenant, id)
    query = dead_letters.delete().where(dead_letters.c.tenant == tenant)
    if id is not None:
        query = query.where(dead_letters.c.id == id)
    return int((await conn.execute(query)).rowcount)


async def _row(conn: AsyncConnection, id: str) -> Invocation | None:
    row = (await conn.execute(
        sa.select(invocations).where(invocations.c.id == id))).mappings().first()
    if row is None:
        return None
    return Invocation(**{**row, "result": None if row["result"] is None else bytes(row["result"]),
                         "errors": json.loads(row["errors"])})


async def _require(conn: AsyncConnection, id: str) -> Invocation:
    row = await _row(conn, id)
    assert row is not None, f"invocation {id} was written in this transaction"
    return row


def _letter(row: sa.RowMapping) -> DeadLetter:
    return DeadLetter(**{**row, "body": bytes(row["body"]), "errors": json.loads(row["errors"])})
