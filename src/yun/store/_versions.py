"""Functions and their immutable, numbered versions. Each call runs inside the caller's
transaction; `yun.store._store` owns transactions, retries and error mapping."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import NotFound
from yun.core.manifest import manifest_to_dict
from yun.core.types import Manifest, Version
from yun.store import _tenants
from yun.store._codec import version_from_row
from yun.store._models import FunctionSummary, Tenant, TenantUsage
from yun.store._schema import aliases, functions, versions

# Called inside the deploy's transaction with the tenant and its usage as it would be after
# the deploy; raises to refuse it (a quota), and then nothing is written.
Admit = Callable[[Tenant, TenantUsage], None]


async def find_function(
    conn: AsyncConnection, tenant: str, name: str, *, lock: bool = False
) -> sa.RowMapping | None:
    query = sa.select(functions).where(functions.c.tenant == tenant, functions.c.name == name)
    if lock:
        # PostgreSQL: row lock, so concurrent deploys of one function take numbers in turn.
        # SQLite renders no FOR UPDATE; its writers already hold the database write lock.
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def require_function(
    conn: AsyncConnection, tenant: str, name: str, *, lock: bool = False
) -> sa.RowMapping:
    row = await find_function(conn, tenant, name, lock=lock)
    if row is None:
        raise NotFound(f"function '{name}' does not exist")
    return row


async def find_version(
    conn: AsyncConnection, tenant: str, function: str, number: int
) -> Version | None:
    query = sa.select(versions).where(
        versions.c.tenant == tenant,
        versions.c.function == function,
        versions.c.number == number,
    )
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else version_from_row(row)


async def create_version(
    conn: AsyncConnection,
    tenant: str,
    manifest: Manifest,
    code_hash: str,
    layer_hash: str | None,
    code_size: int,
    now: float,
    admit: Admit | None = None,
) -> tuple[Version, bool]:
    name = manifest.name
    manifest_json = manifest_to_dict(manifest)
    owner = await _tenants.require(conn, tenant, lock=True)
    fn = await find_function(conn, tenant, name, lock=True)
    if fn is None:
        number = 1
        if admit is not None:
            used = await _tenants.usage(conn, tenant)
            admit(owner, TenantUsage(used.functions + 1, used.code_bytes + code_size))
        # Two first deploys racing on PostgreSQL both get here; the loser's INSERT fails on
        # the primary key and the store retries it, then it sees the winner's row.
        await conn.execute(
            sa.insert(functions).values(
                tenant=tenant,
                name=name,
                latest_version=number,
                memory=manifest.memory,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        latest = await find_version(conn, tenant, name, fn["latest_version"])
        if (
            latest is not None
            and latest.code_hash == code_hash
            and latest.layer_hash == layer_hash
            and manifest_to_dict(latest.manifest) == manifest_json
        ):
            return latest, False
        number = fn["latest_version"] + 1
        if admit is not None:
            used = await _tenants.usage(conn, tenant)
            admit(owner, TenantUsage(used.functions, used.code_bytes + code_size))
        await conn.execute(
            sa.update(functions)
            .where(functions.c.tenant == tenant, functions.c.name == name)
            .values(latest_version=number, memory=manifest.memory, updated_at=now)
        )
    await conn.execute(
        sa.insert(versions).values(
            tenant=tenant,
            function=name,
            number=number,
            code_hash=code_hash,
            layer_hash=layer_hash,
            code_size=code_size,
            manifest=manifest_json,
            created_at=now,
        )
    )
    version = Version(name, number, code_hash, layer_hash, manifest, now)
    return version, True


async def get_version(conn: AsyncConnection, tenant: str, function: str, number: int) -> Version:
    version = await find_version(conn, tenant, function, number)
    if version is None:
        await require_function(conn, tenant, function)
        raise NotFound(f"function '{function}' has no version {number}")
    return version


async def latest_version(conn: AsyncConnection, tenant: str, function: str) -> Version:
    fn = await require_function(conn, tenant, function)
    return await get_version(conn, tenant, function, fn["latest_version"])


async def list_functions(conn: AsyncConnection, tenant: str) -> list[FunctionSummary]:
    query = sa.select(functions).where(functions.c.tenant == tenant).order_by(functions.c.name)
    return [
        FunctionSummary(
            name=row["name"],
            latest_version=row["latest_version"],
            memory=row["memory"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for row in (await conn.execute(query)).mappings()
    ]


async def list_versions(conn: AsyncConnection, tenant: str, function: str) -> list[Version]:
    await require_function(conn, tenant, function)
    query = (
        sa.select(versions)
        .where(versions.c.tenant == tenant, versions.c.function == function)
        .order_by(versions.c.number)
    )
    return [version_from_row(row) for row in (await conn.execute(query)).mappings()]


async def delete_function(conn: AsyncConnection, tenant: str, function: str) -> None:
    await require_function(conn, tenant, function, lock=True)
    # Children first and explicitly, rather than trusting ON DELETE CASCADE: SQLite only
    # cascades on connections with foreign_keys=ON, and a store file may be opened by tools.
    for table in (aliases, versions):
        await conn.execute(
            sa.delete(table).where(table.c.tenant == tenant, table.c.function == function)
        )
    await conn.execute(
        sa.delete(functions).where(functions.c.tenant == tenant, functions.c.name == function)
    )
