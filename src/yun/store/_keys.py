"""API keys. Only a sha256 of each key is stored; the plaintext is shown once, at creation."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.store._models import ApiKey
from yun.store._schema import api_keys

PREFIX = "yun_"


def hash_key(plaintext: str) -> str:
    # A fast unsalted hash is enough: keys carry 256 random bits, so there is no dictionary
    # to try, and a lookup by hash needs the same digest for the same key.
    return hashlib.sha256(plaintext.encode()).hexdigest()


async def create(conn: AsyncConnection, tenant: str, name: str, admin: bool, now: float) -> str:
    plaintext = PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        sa.insert(api_keys).values(
            tenant=tenant, name=name, admin=admin, key_hash=hash_key(plaintext), created_at=now
        )
    )
    return plaintext


async def lookup(conn: AsyncConnection, plaintext: str) -> ApiKey | None:
    query = sa.select(api_keys).where(api_keys.c.key_hash == hash_key(plaintext))
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return ApiKey(
        id=row["id"],
        tenant=row["tenant"],
        name=row["name"],
        admin=bool(row["admin"]),
        created_at=row["created_at"],
    )


async def count(conn: AsyncConnection) -> int:
    total = (await conn.execute(sa.select(sa.func.count()).select_from(api_keys))).scalar_one()
    return int(total)
