"""API keys in the store, on every backend: scoping, revoke, rotate with a grace period."""

from __future__ import annotations

import pytest

from yun.core.errors import InvalidRequest, NotFound
from yun.store import DEFAULT_TENANT, Store


@pytest.fixture
async def acme(store: Store) -> Store:
    await store.create_tenant("acme")
    await store.create_tenant("beta")
    return store


async def test_keys_get_random_public_ids_and_a_display_prefix(acme: Store) -> None:
    one = await acme.create_api_key("acme", "ci", admin=False)
    two = await acme.create_api_key("acme", "ci", admin=False)
    assert one.key.id != two.key.id and len(one.key.id) == 12
    assert one.key.prefix == one.plaintext[:12] and one.key.prefix.startswith("yun_")


async def test_list_shows_only_the_tenants_active_keys_oldest_first(acme: Store) -> None:
    first = await acme.create_api_key("acme", "first", admin=False)
    second = await acme.create_api_key("acme", "second", admin=False)
    await acme.create_api_key("beta", "theirs", admin=False)
    await acme.revoke_api_key(first.key.id, tenant="acme")
    assert [k.name for k in await acme.list_api_keys("acme")] == ["second"]
    assert (await acme.list_api_keys("acme"))[0] == second.key


async def test_admin_keys_are_listed_and_found_only_with_admin(acme: Store) -> None:
    admin = await acme.create_api_key(DEFAULT_TENANT, "admin", admin=True)
    plain = await acme.create_api_key(DEFAULT_TENANT, "ci", admin=False)
    assert await acme.list_api_keys(DEFAULT_TENANT) == [plain.key]
    assert await acme.list_api_keys(DEFAULT_TENANT, with_admin=True) == [admin.key, plain.key]
    for call in (acme.revoke_api_key(admin.key.id, tenant=DEFAULT_TENANT),
                 acme.rotate_api_key(admin.key.id, tenant=DEFAULT_TENANT)):  # fmt: skip
        with pytest.raises(NotFound):
            await call
    assert (await acme.lookup_api_key(admin.plaintext)) == admin.key


async def test_another_tenants_key_is_not_found_in_the_same_words_as_a_missing_one(
    acme: Store,
) -> None:
    theirs = await acme.create_api_key("beta", "theirs", admin=False)
    messages = []
    for key_id in (theirs.key.id, "000000000000"):
        for call in (acme.revoke_api_key(key_id, tenant="acme"),
                     acme.rotate_api_key(key_id, tenant="acme")):  # fmt: skip
            with pytest.raises(NotFound) as caught:
                await call
            messages.append(caught.value.message.replace(key_id, "ID"))
    assert set(messages) == {"API key 'ID' does not exist"}
    looked_up = await acme.lookup_api_key(theirs.plaintext)
    assert looked_up is not None and looked_up.active(1e12)


async def test_a_revoked_key_is_still_looked_up_but_inactive(acme: Store) -> None:
    made = await acme.create_api_key("acme", "ci", admin=False)
    revoked = await acme.revoke_api_key(made.key.id, tenant=None)
    found = await acme.lookup_api_key(made.plaintext)
    assert found == revoked and revoked.expires_at is not None
    assert not found.active(revoked.expires_at) and found.active(revoked.expires_at - 1)
    with pytest.raises(NotFound):
        await acme.revoke_api_key(made.key.id, tenant=None)


async def test_rotate_keeps_tenant_name_and_admin_and_expires_the_old_key(acme: Store) -> None:
    old = await acme.create_api_key("acme", "deploy", admin=False)
    new, retired = await acme.rotate_api_key(old.key.id, tenant="acme")
    assert (new.key.tenant, new.key.name, new.key.admin) == ("acme", "deploy", False)
    assert new.key.id != old.key.id and new.plaintext != old.plaintext
    assert retired.id == old.key.id and retired.expires_at == new.key.created_at
    found = await acme.lookup_api_key(old.plaintext)
    assert found is not None and not found.active(new.key.created_at)
    assert [k.id for k in await acme.list_api_keys("acme")] == [new.key.id]


async def test_rotate_with_grace_keeps_the_old_key_working_until_then(acme: Store) -> None:
    old = await acme.create_api_key("acme", "deploy", admin=False)
    new, retired = await acme.rotate_api_key(old.key.id, tenant="acme", grace=60)
    assert retired.expires_at == new.key.created_at + 60
    found = await acme.lookup_api_key(old.plaintext)
    assert found is not None and found.active(new.key.created_at + 59)
    assert not found.active(new.key.created_at + 60)
    # Still listed (and revocable) while it works; a second rotation never extends it.
    assert {k.id for k in await acme.list_api_keys("acme")} == {old.key.id, new.key.id}
    _, again = await acme.rotate_api_key(old.key.id, tenant="acme", grace=3600)
    assert again.expires_at == retired.expires_at


async def test_an_admin_key_rotates_into_an_admin_key(acme: Store) -> None:
    admin = await acme.create_api_key(DEFAULT_TENANT, "admin", admin=True)
    new, _ = await acme.rotate_api_key(admin.key.id, tenant=None, with_admin=True)
    assert new.key.admin and new.key.tenant == DEFAULT_TENANT


@pytest.mark.parametrize("grace", [-1.0, 7 * 24 * 3600.0 + 1])
async def test_a_grace_outside_zero_to_a_week_is_refused(acme: Store, grace: float) -> None:
    made = await acme.create_api_key("acme", "ci", admin=False)
    with pytest.raises(InvalidRequest, match="grace"):
        await acme.rotate_api_key(made.key.id, tenant="acme", grace=grace)


@pytest.mark.parametrize("name", ["", "x" * 101, "tab\there"])
async def test_key_names_must_be_short_printable_text(acme: Store, name: str) -> None:
    with pytest.raises(InvalidRequest, match="key name"):
        await acme.create_api_key("acme", name, admin=False)
