"""Aliases: a name for a version, optionally splitting traffic with other versions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import InvalidRequest, NotFound
from yun.core.types import Alias
from yun.store._codec import alias_from_row, weights_to_json
from yun.store._schema import aliases
from yun.store._versions import find_version, require_function


def validate_weights(alias: Alias) -> None:
    """Each weighted version gets 1..99 %, the alias's own version the rest (> 0 %)."""
    for version, percent in alias.weights.items():
        if version == alias.version:
            raise InvalidRequest(
                f"alias '{alias.name}' weights must name other versions than its own, "
                f"was: {version}"
            )
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
            raise InvalidRequest(
                f"alias '{alias.name}' weight for version {version} must be 1..99 %, "
                f"was: {percent!r}"
            )
    total = sum(alias.weights.values())
    if total >= 100:
        raise InvalidRequest(
            f"alias '{alias.name}' weights must sum to less than 100 % "
            f"(version {alias.version} gets the rest), was: {total}"
        )


def _key(tenant: str, function: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        aliases.c.tenant == tenant, aliases.c.function == function, aliases.c.name == name
    )


async def set_alias(conn: AsyncConnection, tenant: str, alias: Alias) -> Alias:
    validate_weights(alias)
    # Lock the function row so a concurrent delete_function cannot remove the versions
    # between our check and our write (PostgreSQL; SQLite writers are already serial).
    await require_function(conn, tenant, alias.function, lock=True)
    for number in (alias.version, *sorted(alias.weights)):
        if await find_version(conn, tenant, alias.function, number) is None:
            raise NotFound(f"function '{alias.function}' has no version {number}")
    values = {"version": alias.version, "weights": weights_to_json(alias.weights)}
    where = _key(tenant, alias.function, alias.name)
    updated = await conn.execute(sa.update(aliases).where(where).values(**values))
    if updated.rowcount == 0:
        # A concurrent first set_alias may insert the same key; the store retries on the
        # unique violation and the retry takes the UPDATE branch.
        await conn.execute(
            sa.insert(aliases).values(
                tenant=tenant, function=alias.function, name=alias.name, **values
            )
        )
    return Alias(alias.function, alias.name, alias.version, dict(alias.weights))


async def get_alias(conn: AsyncConnection, tenant: str, function: str, name: str) -> Alias:
    row = (
        (await conn.execute(sa.select(aliases).where(_key(tenant, function, name))))
        .mappings()
        .first()
    )
    if row is None:
        await require_function(conn, tenant, function)
        raise NotFound(f"function '{function}' has no alias '{name}'")
    return alias_from_row(row)


async def list_aliases(conn: AsyncConnection, tenant: str, function: str) -> list[Alias]:
    await require_function(conn, tenant, function)
    query = (
        sa.select(aliases)
        .where(aliases.c.tenant == tenant, aliases.c.function == function)
        .order_by(aliases.c.name)
    )
    return [alias_from_row(row) for row in (await conn.execute(query)).mappings()]


async def delete_alias(conn: AsyncConnection, tenant: str, function: str, name: str) -> None:
    deleted = await conn.execute(sa.delete(aliases).where(_key(tenant, function, name)))
    if deleted.rowcount == 0:
        await require_function(conn, tenant, function)
        raise NotFound(f"function '{function}' has no alias '{name}'")
