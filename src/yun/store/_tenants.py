"""Tenants: names, uids, the disabled flag and quota overrides. Each call runs inside the
caller's transaction; `yun.store._store` owns transactions, retries and error mapping."""

from __future__ import annotations

import re
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import Conflict, InvalidRequest, NotFound, PlatformError
from yun.store._models import Tenant, TenantUsage
from yun.store._schema import functions, tenant_uids, tenants, versions

DEFAULT_TENANT = "default"  # made by migration 0002; holds the admin keys
UID_FIRST = 100_000  # the default tenant's uid
# Below the 2^31 boundary that some tools still treat as signed, and far from 65534 (nobody)
# and 2^32 - 1 (the "no uid" marker).
UID_LAST = 2**31 - 2

_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
NAME_RULE = "a lowercase letter, then up to 62 lowercase letters, digits or '-'"


def check_tenant_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidRequest(f"tenant name must be {NAME_RULE}, was: {name!r}")


def _tenant(row: sa.RowMapping) -> Tenant:
    return Tenant(
        name=row["name"],
        uid=int(row["uid"]),
        created_at=row["created_at"],
        disabled=bool(row["disabled"]),
        quotas=dict(row["quotas"] or {}),
    )


async def find(conn: AsyncConnection, name: str, *, lock: bool = False) -> Tenant | None:
    query = sa.select(tenants).where(tenants.c.name == name)
    if lock:
        # PostgreSQL: deploys of one tenant take turns, so two cannot both pass a quota
        # that only one fits under. SQLite writers already hold the database write lock.
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _tenant(row)


async def require(conn: AsyncConnection, name: str, *, lock: bool = False) -> Tenant:
    tenant = await find(conn, name, lock=lock)
    if tenant is None:
        raise NotFound(f"tenant '{name}' does not exist")
    return tenant


async def _allocate_uid(conn: AsyncConnection) -> int:
    query = sa.select(tenant_uids.c.next_uid).where(tenant_uids.c.id == 1).with_for_update()
    uid = (await conn.execute(query)).scalar_one()
    if uid > UID_LAST:
        raise PlatformError(f"no tenant uids left: {UID_FIRST}..{UID_LAST} are all handed out")
    await conn.execute(
        sa.update(tenant_uids).where(tenant_uids.c.id == 1).values(next_uid=uid + 1)
    )
    return int(uid)


async def create(
    conn: AsyncConnection, name: str, quotas: Mapping[str, float], now: float
) -> Tenant:
    check_tenant_name(name)
    if await find(conn, name) is not None:
        raise Conflict(f"tenant '{name}' already exists")
    # Two creates of one name racing on PostgreSQL both get here; the loser's INSERT fails
    # on the primary key, the store retries, and the retry says "already exists". The uid it
    # took is skipped, never reused.
    tenant = Tenant(name, await _allocate_uid(conn), now, False, dict(quotas))
    await conn.execute(
        sa.insert(tenants).values(
            name=tenant.name,
            uid=tenant.uid,
            created_at=tenant.created_at,
            disabled=tenant.disabled,
            quotas=tenant.quotas,
        )
    )
    return tenant


async def list_all(conn: AsyncConnection) -> list[Tenant]:
    query = sa.select(tenants).order_by(tenants.c.name)
    return [_tenant(row) for row in (await conn.execute(query)).mappings()]


async def update(
    conn: AsyncConnection,
    name: str,
    disabled: bool | None,
    quotas: Mapping[str, float | None] | None,
) -> Tenant:
    tenant = await require(conn, name, lock=True)
    if disabled and name == DEFAULT_TENANT:
        raise InvalidRequest(
            f"tenant '{DEFAULT_TENANT}' holds the admin keys and cannot be disabled"
        )
    merged = dict(tenant.quotas)
    for key, value in (quotas or {}).items():
        if value is None:
            merged.pop(key, None)  # back to the default
        else:
            merged[key] = value
    values = {"quotas": merged, "disabled": tenant.disabled if disabled is None else disabled}
    await conn.execute(sa.update(tenants).where(tenants.c.name == name).values(**values))
    return Tenant(tenant.name, tenant.uid, tenant.created_at, bool(values["disabled"]), merged)


async def usage(conn: AsyncConnection, name: str) -> TenantUsage:
    count = sa.select(sa.func.count()).select_from(functions).where(functions.c.tenant == name)
    size = sa.select(sa.func.coalesce(sa.func.sum(versions.c.code_size), 0)).where(
        versions.c.tenant == name
    )
    return TenantUsage(
        functions=int((await conn.execute(count)).scalar_one()),
        code_bytes=int((await conn.execute(size)).scalar_one()),
    )
