"""Trigger state: the last tick each cron schedule fired, and the ids of webhook triggers."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.store._schema import cron_ticks, webhooks
from yun.store._versions import require_function


def _tick_key(tenant: str, function: str, schedule: str) -> sa.ColumnElement[bool]:
    return sa.and_(cron_ticks.c.tenant == tenant, cron_ticks.c.function == function,
                   cron_ticks.c.schedule == schedule)


async def last_tick(conn: AsyncConnection, tenant: str, function: str,
                    schedule: str) -> float | None:
    row = (await conn.execute(sa.select(cron_ticks.c.last_tick).where(
        _tick_key(tenant, function, schedule)))).first()
    return None if row is None else float(row[0])


async def set_tick(conn: AsyncConnection, tenant: str, function: str, schedule: str,
                   tick: float) -> None:
    """Only forward: a slow writer never moves a schedule back to an older tick."""
    await require_function(conn, tenant, function)
    updated = await conn.execute(sa.update(cron_ticks).where(
        _tick_key(tenant, function, schedule), cron_ticks.c.last_tick < tick).values(
        last_tick=tick))
    if updated.rowcount == 0 and await last_tick(conn, tenant, function, schedule) is None:
        await conn.execute(sa.insert(cron_ticks).values(
            tenant=tenant, function=function, schedule=schedule, last_tick=tick))


async def ensure_webhook(conn: AsyncConnection, tenant: str, function: str, secret_env: str,
                         now: float) -> str:
    """The trigger's id, made (unguessable) the first time it is asked for."""
    query = sa.select(webhooks.c.id).where(
        webhooks.c.tenant == tenant, webhooks.c.function == function,
        webhooks.c.secret_env == secret_env)
    row = (await conn.execute(query)).first()
    if row is not None:
        return str(row[0])
    await require_function(conn, tenant, function)
    hook = secrets.token_urlsafe(24)
    await conn.execute(sa.insert(webhooks).values(
        id=hook, tenant=tenant, function=function, secret_env=secret_env, created_at=now))
    return hook


async def find_webhook(conn: AsyncConnection, hook: str) -> tuple[str, str, str] | None:
    """(tenant, function, secret_env) of a webhook id, or None."""
    query = sa.select(webhooks.c.tenant, webhooks.c.function, webhooks.c.secret_env).where(
        webhooks.c.id == hook)
    row = (await conn.execute(query)).first()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))
