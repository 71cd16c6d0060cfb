"""API keys. Only a sha256 of each key is stored; the plaintext is shown once, at creation.

Revoking sets `expires_at` instead of deleting the row: a revoked key is then told apart
from one that never existed, and the audit trail stays. Rotating makes a new key with the
old one's tenant, name and admin flag, and lets the old one expire after a grace period.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import InvalidRequest, NotFound
from yun.store import _tenants
from yun.store._models import ApiKey, NewApiKey
from yun.store._schema import api_keys

PREFIX = "yun_"
SHOWN = len(PREFIX) + 8  # characters of the plaintext kept as its display prefix
MAX_NAME = 100
MAX_GRACE = 7 * 24 * 3600.0  # a rotated key works at most a week longer


def hash_key(plaintext: str) -> str:
    # A fast unsalted hash is enough: keys carry 256 random bits, so there is no dictionary
    # to try, and a lookup by hash needs the same digest for the same key.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _key(row: sa.RowMapping) -> ApiKey:
    return ApiKey(
        id=row["key_id"],
        tenant=row["tenant"],
        name=row["name"],
        admin=bool(row["admin"]),
        created_at=row["created_at"],
        prefix=row["prefix"],
        expires_at=row["expires_at"],
    )


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidRequest(
            f"key name must be 1..{MAX_NAME} printable characters, was: {name!r}"
        )


async def create(
    conn: AsyncConnection, tenant: str, name: str, admin: bool, now: float
) -> NewApiKey:
    _check_name(name)
    await _tenants.require(conn, tenant)
    plaintext = PREFIX + secrets.token_urlsafe(32)
    # 48 random bits: a collision fails the unique constraint and the store's retry draws
    # another id.
    key = ApiKey(secrets.token_hex(6), tenant, name, admin, now, plaintext[:SHOWN], None)
    await conn.execute(
        sa.insert(api_keys).values(
            key_id=key.id,
            tenant=tenant,
            name=name,
            admin=admin,
            key_hash=hash_key(plaintext),
            created_at=now,
            prefix=key.prefix,
        )
    )
    return NewApiKey(key, plaintext)


async def lookup(conn: AsyncConnection, plaintext: str) -> ApiKey | None:
    """The key, active or not (the caller checks `active(now)`), or None if unknown."""
    query = sa.select(api_keys).where(api_keys.c.key_hash == hash_key(plaintext))
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _key(row)


def _visible(tenant: str | None, with_admin: bool, now: float) -> sa.ColumnElement[bool]:
    """Active keys of `tenant` (of every tenant when None); admin keys only if `with_admin`."""
    clauses = [sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now)]
    if tenant is not None:
        clauses.append(api_keys.c.tenant == tenant)
    if not with_admin:
        clauses.append(api_keys.c.admin == sa.false())
    return sa.and_(*clauses)


async def list_keys(
    conn: AsyncConnection, tenant: str, with_admin: bool, now: float
) -> list[ApiKey]:
    query = (
        sa.select(api_keys)
        .where(_visible(tenant, with_admin, now))
        .order_by(api_keys.c.created_at, api_keys.c.id)
    )
    return [_key(row) for row in (await conn.execute(query)).mappings()]


async def _require_visible(
    conn: AsyncConnection, key_id: str, tenant: str | None, with_admin: bool, now: float
) -> ApiKey:
    query = (
        sa.select(api_keys)
        .where(api_keys.c.key_id == key_id, _visible(tenant, with_admin, now))
        .with_for_update()
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        # The same words whether the key is another tenant's, revoked, or never existed.
        raise NotFound(f"API key '{key_id}' does not exist")
    return _key(row)


async def revoke(
    conn: AsyncConnection, key_id: str, tenant: str | None, with_admin: bool, now: float
) -> ApiKey:
    key = await _require_visible(conn, key_id, tenant, with_admin, now)
    await conn.execute(
        sa.update(api_keys).where(api_keys.c.key_id == key_id).values(expires_at=now)
    )
    return ApiKey(key.id, key.tenant, key.name, key.admin, key.created_at, key.prefix, now)


async def rotate(
    conn: AsyncConnection,
    key_id: str,
    tenant: str | None,
    with_admin: bool,
    grace: float,
    now: float,
) -> tuple[NewApiKey, ApiKey]:
    if not 0 <= grace <= MAX_GRACE:
        raise InvalidRequest(f"grace must be 0..{MAX_GRACE:.0f} s, was: {grace}")
    old = await _require_visible(conn, key_id, tenant, with_admin, now)
    expires = now + grace
    if old.expires_at is not None:
        expires = min(expires, old.expires_at)  # a rotation never extends a pending expiry
    await conn.execute(
        sa.update(api_keys).where(api_keys.c.key_id == key_id).values(expires_at=expires)
    )
    new = await create(conn, old.tenant, old.name, old.admin, now)
    return new, ApiKey(old.id, old.tenant, old.name, old.admin, old.created_at, old.prefix,
                       expires)  # fmt: skip


async def count(conn: AsyncConnection) -> int:
    total = (await conn.execute(sa.select(sa.func.count()).select_from(api_keys))).scalar_one()
    return int(total)
