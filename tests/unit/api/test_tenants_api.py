"""`/v1/tenants`: admin-only tenant management, and what disabling a tenant does at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the fixture's type; not imported at run time (pytest owns conftest)
    from conftest import Api

from yun.gateway import Quotas
from yun.store import UID_FIRST


async def test_an_admin_creates_a_tenant_with_the_next_uid_and_its_quotas(api: Api) -> None:
    async with api.client(api.admin) as http:
        made = await http.post("/v1/tenants", json={"name": "acme", "quotas": {"functions": 3}})
        assert made.status_code == 201, made.text
        body = made.json()
        assert (body["name"], body["uid"], body["disabled"]) == ("acme", UID_FIRST + 1, False)
        assert body["overrides"] == {"functions": 3}
        assert body["quotas"] == {**Quotas().view(), "functions": 3}
        listed = (await http.get("/v1/tenants")).json()["tenants"]
        assert [t["name"] for t in listed] == ["acme", "default"]
        shown = (await http.get("/v1/tenants/acme")).json()
        assert shown["usage"] == {"functions": 0, "code_bytes": 0, "instances": 0,
                                  "memory_mb": 0.0}  # fmt: skip
    assert api.events == [("tenant", "acme disabled=False")]
    assert api.quotas.quotas("acme").functions == 3
    assert api.keys.uid("acme") == UID_FIRST + 1


async def test_bad_names_duplicates_and_bad_quotas_are_refused_clearly(api: Api) -> None:
    async with api.client(api.admin) as http:
        bad = await http.post("/v1/tenants", json={"name": "Acme"})
        assert bad.status_code == 400 and "'Acme'" in bad.json()["error"]["message"]
        await http.post("/v1/tenants", json={"name": "acme"})
        again = await http.post("/v1/tenants", json={"name": "acme"})
        assert again.status_code == 409
        assert again.json()["error"]["message"] == "tenant 'acme' already exists"
        unknown = await http.post("/v1/tenants", json={"name": "b", "quotas": {"cpus": 1}})
        assert unknown.status_code == 400 and "'cpus'" in unknown.json()["error"]["message"]
        assert "functions" in unknown.json()["error"]["message"]
        for value in (-1, 1.5, "5", True):
            wrong = await http.patch("/v1/tenants/acme", json={"quotas": {"functions": value}})
            assert wrong.status_code == 400, value
            assert "quota functions" in wrong.json()["error"]["message"]
        missing = await http.get("/v1/tenants/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "tenant 'nope' does not exist"


async def test_patch_merges_quota_overrides_and_null_restores_the_default(api: Api) -> None:
    await api.tenant_key("acme", functions=3, memory_mb=512)
    async with api.client(api.admin) as http:
        changed = await http.patch("/v1/tenants/acme",
                                   json={"quotas": {"functions": None, "code_bytes": 10}})
        body = changed.json()
    assert body["overrides"] == {"memory_mb": 512, "code_bytes": 10}
    assert body["quotas"]["functions"] == Quotas().functions
    assert api.quotas.quotas("acme").code_bytes == 10


async def test_a_disabled_tenants_keys_are_refused_at_once_and_work_again_when_enabled(
    api: Api,
) -> None:
    key = await api.tenant_key("acme")
    async with api.client(key) as tenant, api.client(api.admin) as admin:
        assert (await tenant.get("/v1/functions")).status_code == 200  # now cached
        off = await admin.patch("/v1/tenants/acme", json={"disabled": True})
        assert off.json()["disabled"] is True
        refused = await tenant.get("/v1/functions")
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == (
            "tenant 'acme' is disabled: its API keys are refused until an admin enables it")
        await admin.patch("/v1/tenants/acme", json={"disabled": False})
        assert (await tenant.get("/v1/functions")).status_code == 200
    assert api.events[-2:] == [("tenant", "acme disabled=True"),
                               ("tenant", "acme disabled=False")]  # fmt: skip


async def test_the_default_tenant_cannot_be_disabled(api: Api) -> None:
    async with api.client(api.admin) as http:
        refused = await http.patch("/v1/tenants/default", json={"disabled": True})
        assert refused.status_code == 400 and "admin keys" in refused.json()["error"]["message"]
        assert (await http.get("/v1/functions")).status_code == 200


async def test_tenant_keys_get_403_on_every_tenant_route_whatever_the_name(api: Api) -> None:
    key = await api.tenant_key("acme")
    async with api.client(key) as http:
        answers = [
            await http.get("/v1/tenants"),
            await http.post("/v1/tenants", json={"name": "mine"}),
            await http.get("/v1/tenants/acme"),
            await http.get("/v1/tenants/nope"),
            await http.patch("/v1/tenants/acme", json={"disabled": False}),
            await http.patch("/v1/tenants/nope", json={"disabled": True}),
        ]
    assert {a.status_code for a in answers} == {403}
    assert len({a.text for a in answers}) == 1
    assert [t.name for t in await api.store.list_tenants()] == ["acme", "default"]


async def test_routes_without_a_key_are_401_before_anything_else(api: Api) -> None:
    async with api.client(None) as http:
        for path in ("/v1/tenants", "/v1/keys", "/v1/tenants/acme"):
            assert (await http.get(path)).status_code == 401
