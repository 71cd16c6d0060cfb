"""Tenants in the store, on every backend: names, uids, the disabled flag, quota overrides,
usage, and the migration that introduced them."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from yun.core.errors import Conflict, InvalidRequest, NotFound
from yun.core.types import Manifest
from yun.store import DEFAULT_TENANT, UID_FIRST, Store, TenantUsage
from yun.store._engine import create_engine
from yun.store._migrate import alembic_config

MANIFEST = Manifest(name="hello", handler="main:handle")


async def test_the_default_tenant_exists_after_migration_with_the_first_uid(
    store: Store,
) -> None:
    default = await store.get_tenant(DEFAULT_TENANT)
    assert (default.uid, default.disabled, default.quotas) == (UID_FIRST, False, {})
    assert [t.name for t in await store.list_tenants()] == [DEFAULT_TENANT]


async def test_new_tenants_get_increasing_unique_uids(store: Store) -> None:
    acme = await store.create_tenant("acme")
    beta = await store.create_tenant("beta-2", {"functions": 3})
    assert (acme.uid, beta.uid) == (UID_FIRST + 1, UID_FIRST + 2)
    assert beta.quotas == {"functions": 3} and not beta.disabled
    assert await store.get_tenant("beta-2") == beta
    assert [t.name for t in await store.list_tenants()] == ["acme", "beta-2", "default"]


async def test_concurrent_creates_never_share_a_uid(store: Store) -> None:
    made = await asyncio.gather(*(store.create_tenant(f"t{i}") for i in range(8)))
    assert len({t.uid for t in made}) == 8
    assert min(t.uid for t in made) > UID_FIRST


async def test_a_uid_is_never_handed_out_twice_even_after_a_failed_create(store: Store) -> None:
    first = await store.create_tenant("one")
    with pytest.raises(Conflict, match="tenant 'one' already exists"):
        await store.create_tenant("one")
    second = await store.create_tenant("two")
    assert second.uid > first.uid


@pytest.mark.parametrize("name", ["", "Acme", "1abc", "-x", "a_b", "a.b", "a/b", "a" * 64, "é"])
async def test_tenant_names_outside_the_rule_are_refused_with_the_name(
    store: Store, name: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await store.create_tenant(name)
    assert repr(name) in caught.value.message


async def test_the_longest_allowed_name_is_accepted(store: Store) -> None:
    name = "a" + "-0" * 31
    assert len(name) == 63
    assert (await store.create_tenant(name)).name == name


async def test_update_sets_the_flag_and_merges_quota_overrides(store: Store) -> None:
    await store.create_tenant("acme", {"functions": 3, "code_bytes": 100})
    updated = await store.update_tenant(
        "acme", disabled=True, quotas={"functions": 5, "code_bytes": None, "memory_mb": 512}
    )
    assert updated.disabled and updated.quotas == {"functions": 5, "memory_mb": 512}
    assert await store.get_tenant("acme") == updated
    enabled = await store.update_tenant("acme", disabled=False)
    assert not enabled.disabled and enabled.quotas == updated.quotas


async def test_the_default_tenant_cannot_be_disabled(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="admin keys"):
        await store.update_tenant(DEFAULT_TENANT, disabled=True)
    assert not (await store.get_tenant(DEFAULT_TENANT)).disabled


async def test_unknown_tenants_are_not_found_by_name(store: Store) -> None:
    for call in (store.get_tenant("nope"), store.update_tenant("nope", disabled=True),
                 store.create_api_key("nope", "k", admin=False),
                 store.create_version("nope", MANIFEST, "c", None, 1)):  # fmt: skip
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.message == "tenant 'nope' does not exist"


async def test_usage_counts_functions_and_the_code_of_every_version(store: Store) -> None:
    await store.create_tenant("acme")
    await store.create_version("acme", MANIFEST, "c1", None, 100)
    await store.create_version("acme", MANIFEST, "c2", None, 50)
    other = dataclasses.replace(MANIFEST, name="other")
    await store.create_version("acme", other, "c3", None, 7)
    await store.create_version(DEFAULT_TENANT, MANIFEST, "c9", None, 1000)
    assert await store.tenant_usage("acme") == TenantUsage(functions=2, code_bytes=157)
    assert await store.tenant_usage("nobody") == TenantUsage(0, 0)


async def test_admit_sees_the_usage_after_the_deploy_and_can_refuse_it(store: Store) -> None:
    await store.create_tenant("acme", {"functions": 1})
    seen: list[tuple[str, TenantUsage]] = []

    def admit(tenant: object, usage: TenantUsage) -> None:
        seen.append((getattr(tenant, "name", ""), usage))
        if usage.functions > 1:
            raise InvalidRequest("refused")

    await store.create_version("acme", MANIFEST, "c1", None, 10, admit)
    await store.create_version("acme", MANIFEST, "c2", None, 5, admit)  # a new version
    await store.create_version("acme", MANIFEST, "c2", None, 5, admit)  # identical: no call
    with pytest.raises(InvalidRequest):
        await store.create_version("acme", dataclasses.replace(MANIFEST, name="x"), "c3",
                                   None, 1, admit)  # fmt: skip
    assert seen == [("acme", TenantUsage(1, 10)), ("acme", TenantUsage(1, 15)),
                    ("acme", TenantUsage(2, 16))]  # fmt: skip
    assert [f.name for f in await store.list_functions("acme")] == ["hello"]


async def test_concurrent_deploys_of_new_functions_cannot_both_pass_a_quota(
    store: Store,
) -> None:
    await store.create_tenant("acme")

    def at_most_two(_tenant: object, usage: TenantUsage) -> None:
        if usage.functions > 2:
            raise InvalidRequest("over")

    results = await asyncio.gather(
        *(store.create_version("acme", dataclasses.replace(MANIFEST, name=f"f{i}"), f"c{i}",
                               None, 1, at_most_two) for i in range(6)),
        return_exceptions=True,
    )  # fmt: skip
    assert sum(not isinstance(r, BaseException) for r in results) == 2
    assert len(await store.list_functions("acme")) == 2


async def test_migrating_an_old_database_makes_tenants_of_the_names_in_use(
    store_url: str,
) -> None:
    engine = create_engine(store_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0001"))
        await conn.execute(sa.text(
            "INSERT INTO api_keys (tenant, name, admin, key_hash, created_at) VALUES "
            "('default', 'admin', true, 'h1', 1), ('zeta', 'ci', false, 'h2', 2)"))
        await conn.execute(sa.text(
            "INSERT INTO functions (tenant, name, latest_version, memory, created_at, "
            "updated_at) VALUES ('acme', 'f', 1, 128, 1, 1)"))  # fmt: skip
    await engine.dispose()

    store = await Store.open(store_url)
    try:
        tenants = {t.name: t.uid for t in await store.list_tenants()}
        assert tenants == {"default": UID_FIRST, "acme": UID_FIRST + 1, "zeta": UID_FIRST + 2}
        assert (await store.create_tenant("new")).uid == UID_FIRST + 3
        keys = await store.list_api_keys("zeta")
        assert [(k.name, k.prefix, k.expires_at) for k in keys] == [("ci", None, None)]
        assert len(keys[0].id) == 12
    finally:
        await store.close()
    check = create_async_engine(store_url)
    async with check.connect() as conn:
        ids = (await conn.execute(sa.text("SELECT key_id FROM api_keys"))).scalars().all()
    await check.dispose()
    assert len(set(ids)) == 2 and all(ids)
