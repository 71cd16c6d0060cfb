"""`KeyCache`: who is calling, cached for a short time, dropped at once on changes here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from yun.core import FakeClock, PlatformError, Unauthorized
from yun.gateway import KeyCache, QuotaBook
from yun.store import UID_FIRST, Store


class CountingStore:
    """The real store, counting the lookups that reach it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lookups = 0
        self.tenant_lookups = 0

    async def lookup_api_key(self, plaintext: str):  # type: ignore[no-untyped-def]
        self.lookups += 1
        return await self.store.lookup_api_key(plaintext)

    async def get_tenant(self, name: str):  # type: ignore[no-untyped-def]
        self.tenant_lookups += 1
        return await self.store.get_tenant(name)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}")
    await opened.create_tenant("acme", {"functions": 2})
    try:
        yield opened
    finally:
        await opened.close()


def bearer(key: str) -> str:
    return f"Bearer {key}"


async def test_a_key_is_looked_up_once_per_ttl(store: Store) -> None:
    key = (await store.create_api_key("acme", "k", admin=False)).plaintext
    counting = CountingStore(store)
    clock = FakeClock(100.0)
    cache = KeyCache(counting, ttl=2.0, clock=clock.now)  # type: ignore[arg-type]
    for _ in range(5):
        assert (await cache.authenticate(bearer(key))).tenant == "acme"
    assert counting.lookups == 1
    clock.advance(2.0)
    await cache.authenticate(bearer(key))
    assert counting.lookups == 2


async def test_missing_malformed_unknown_and_revoked_keys_say_which(store: Store) -> None:
    made = await store.create_api_key("acme", "k", admin=False)
    cache = KeyCache(store)
    cases = [(None, "missing API key"), ("Basic x", "malformed"),
             (bearer("yun_nope"), "unknown API key 'yun_nope…'")]  # fmt: skip
    await store.revoke_api_key(made.key.id, tenant=None)
    cases.append((bearer(made.plaintext), f"API key '{made.plaintext[:8]}…' has been revoked"))
    for header, words in cases:
        with pytest.raises(Unauthorized) as caught:
            await cache.authenticate(header)
        assert words in caught.value.message


async def test_forget_key_drops_a_cached_key_at_once(store: Store) -> None:
    made = await store.create_api_key("acme", "k", admin=False)
    cache = KeyCache(store, ttl=3600)
    await cache.authenticate(bearer(made.plaintext))
    await store.revoke_api_key(made.key.id, tenant=None)
    await cache.authenticate(bearer(made.plaintext))  # still cached: other processes wait ttl
    cache.forget_key(made.key.id)
    with pytest.raises(Unauthorized, match="revoked"):
        await cache.authenticate(bearer(made.plaintext))


async def test_a_key_rotated_with_grace_stops_when_the_grace_ends(store: Store) -> None:
    made = await store.create_api_key("acme", "k", admin=False)
    _, old = await store.rotate_api_key(made.key.id, tenant=None, grace=60)
    assert old.expires_at is not None
    wall = [old.expires_at - 1]
    cache = KeyCache(store, ttl=3600, wall=lambda: wall[0])
    await cache.authenticate(bearer(made.plaintext))
    wall[0] = old.expires_at
    with pytest.raises(Unauthorized, match="revoked"):
        await cache.authenticate(bearer(made.plaintext))


async def test_a_disabled_tenant_is_refused_once_remembered(store: Store) -> None:
    key = (await store.create_api_key("acme", "k", admin=False)).plaintext
    cache = KeyCache(store, ttl=3600)
    await cache.authenticate(bearer(key))
    cache.remember_tenant(await store.update_tenant("acme", disabled=True))
    with pytest.raises(Unauthorized, match="tenant 'acme' is disabled"):
        await cache.authenticate(bearer(key))
    assert await cache.active_tenant("acme") is None
    cache.remember_tenant(await store.update_tenant("acme", disabled=False))
    assert (await cache.authenticate(bearer(key))).tenant == "acme"


async def test_loading_a_tenant_teaches_the_uid_and_the_quotas(store: Store) -> None:
    key = (await store.create_api_key("acme", "k", admin=False)).plaintext
    book = QuotaBook()
    cache = KeyCache(store, quotas=book)
    with pytest.raises(PlatformError, match="uid of tenant 'acme'"):
        cache.uid("acme")
    await cache.authenticate(bearer(key))
    assert cache.uid("acme") == UID_FIRST + 1
    assert book.quotas("acme").functions == 2


async def test_active_tenant_is_none_for_unknown_names(store: Store) -> None:
    cache = KeyCache(store)
    assert await cache.active_tenant("nope") is None
    tenant = await cache.active_tenant("acme")
    assert tenant is not None and tenant.uid == UID_FIRST + 1


async def test_a_burst_after_the_ttl_looks_the_key_and_tenant_up_once(store: Store) -> None:
    key = (await store.create_api_key("acme", "k", admin=False)).plaintext
    counting = CountingStore(store)
    clock = FakeClock(100.0)
    cache = KeyCache(counting, ttl=2.0, clock=clock.now)  # type: ignore[arg-type]
    await cache.authenticate(bearer(key))
    clock.advance(2.0)  # every entry stale, then 100 requests at once
    keys = await asyncio.gather(*(cache.authenticate(bearer(key)) for _ in range(100)))
    assert {k.tenant for k in keys} == {"acme"}
    assert counting.lookups == 2
    assert counting.tenant_lookups == 2
