"""`/v1/keys`: each tenant manages its own keys; admins any tenant's; revocation is immediate."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the fixture's type; not imported at run time (pytest owns conftest)
    from conftest import Api


async def test_a_tenant_key_creates_a_key_shown_once_and_listed_without_it(api: Api) -> None:
    key = await api.tenant_key("acme")
    async with api.client(key) as http:
        made = await http.post("/v1/keys", json={"name": "ci"})
        assert made.status_code == 201
        body = made.json()
        assert body["tenant"] == "acme" and body["admin"] is False
        assert body["key"].startswith(body["prefix"]) and len(body["id"]) == 12
        listed = (await http.get("/v1/keys")).json()["keys"]
    assert [k["name"] for k in listed] == ["k", "ci"]
    assert body["key"] not in str(listed)
    async with api.client(body["key"]) as http:
        assert (await http.get("/v1/functions")).status_code == 200


async def test_a_revoked_key_is_refused_at_once(api: Api) -> None:
    key = await api.tenant_key("acme")
    async with api.client(key) as http:
        spare = (await http.post("/v1/keys", json={"name": "spare"})).json()
        async with api.client(spare["key"]) as doomed:
            assert (await doomed.get("/v1/functions")).status_code == 200  # cached now
            assert (await http.delete(f"/v1/keys/{spare['id']}")).status_code == 204
            refused = await doomed.get("/v1/functions")
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
        assert [k["name"] for k in (await http.get("/v1/keys")).json()["keys"]] == ["k"]


async def test_rotation_hands_out_a_new_key_and_stops_the_old_one(api: Api) -> None:
    key = await api.tenant_key("acme")
    async with api.client(key) as http:
        ident = (await http.get("/v1/keys")).json()["keys"][0]["id"]
        rotated = await http.post(f"/v1/keys/{ident}/rotate")
        assert rotated.status_code == 201
        body = rotated.json()
        assert body["replaces"] == ident and body["name"] == "k"
        assert (await http.get("/v1/functions")).status_code == 401
    async with api.client(body["key"]) as http:
        assert (await http.get("/v1/functions")).status_code == 200
    assert api.events[-1] == ("rotated", f"{ident}->{body['id']}")


async def test_rotation_with_grace_keeps_the_old_key_working_meanwhile(api: Api) -> None:
    key = await api.tenant_key("acme")
    async with api.client(key) as http:
        ident = (await http.get("/v1/keys")).json()["keys"][0]["id"]
        body = (await http.post(f"/v1/keys/{ident}/rotate", json={"grace": 3600})).json()
        assert body["replaced_expires_at"] > body["created_at"]
        assert (await http.get("/v1/functions")).status_code == 200
        ids = {k["id"] for k in (await http.get("/v1/keys")).json()["keys"]}
    assert ids == {ident, body["id"]}


async def test_another_tenants_key_ids_are_404_like_missing_ones(api: Api) -> None:
    mine = await api.tenant_key("acme")
    theirs = await api.tenant_key("beta")
    async with api.client(theirs) as http:
        their_id = (await http.get("/v1/keys")).json()["keys"][0]["id"]
    answers = []
    async with api.client(mine) as http:
        for ident in (their_id, "ffffffffffff"):
            for response in (await http.delete(f"/v1/keys/{ident}"),
                             await http.post(f"/v1/keys/{ident}/rotate")):  # fmt: skip
                answers.append((response.status_code,
                                response.json()["error"]["message"].replace(ident, "ID")))
    assert set(answers) == {(404, "API key 'ID' does not exist")}
    async with api.client(theirs) as http:
        assert (await http.get("/v1/functions")).status_code == 200


async def test_a_tenant_key_may_not_name_another_tenant_and_learns_nothing(api: Api) -> None:
    key = await api.tenant_key("acme")
    await api.tenant_key("beta")
    async with api.client(key) as http:
        answers = [await http.get("/v1/keys", params={"tenant": name})
                   for name in ("beta", "nope")]  # fmt: skip
        answers += [await http.post("/v1/keys", params={"tenant": name}, json={})
                    for name in ("beta", "nope")]  # fmt: skip
        own = await http.get("/v1/keys", params={"tenant": "acme"})
    assert {a.status_code for a in answers} == {403}
    assert len({a.json()["error"]["message"] for a in answers}) == 1
    assert own.status_code == 200


async def test_admin_keys_are_invisible_to_the_default_tenants_plain_keys(api: Api) -> None:
    async with api.client(api.admin) as http:
        admin_id = (await http.get("/v1/keys")).json()["keys"][0]["id"]
        plain = (await http.post("/v1/keys", json={"name": "ci"})).json()["key"]
    async with api.client(plain) as http:
        assert [k["name"] for k in (await http.get("/v1/keys")).json()["keys"]] == ["ci"]
        assert (await http.delete(f"/v1/keys/{admin_id}")).status_code == 404
        assert (await http.post(f"/v1/keys/{admin_id}/rotate")).status_code == 404
        escalate = await http.post("/v1/keys", json={"name": "x", "admin": True})
        assert escalate.status_code == 403
    async with api.client(api.admin) as http:
        assert (await http.get("/v1/tenants")).status_code == 200


async def test_an_admin_manages_any_tenants_keys(api: Api) -> None:
    await api.tenant_key("acme")
    async with api.client(api.admin) as http:
        made = (await http.post("/v1/keys", params={"tenant": "acme"}, json={"name": "x"}))
        assert made.json()["tenant"] == "acme"
        listed = (await http.get("/v1/keys", params={"tenant": "acme"})).json()["keys"]
        assert [k["name"] for k in listed] == ["k", "x"]
        assert (await http.delete(f"/v1/keys/{made.json()['id']}")).status_code == 204
        missing = await http.get("/v1/keys", params={"tenant": "nope"})
        assert missing.status_code == 404
        admin_elsewhere = await http.post("/v1/keys", params={"tenant": "acme"},
                                          json={"admin": True})  # fmt: skip
        assert admin_elsewhere.status_code == 400
