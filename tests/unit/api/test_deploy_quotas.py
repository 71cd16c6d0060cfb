"""Deploys refused by the tenant's quotas: 403, naming the quota, its limit and the value."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the fixture's type; not imported at run time (pytest owns conftest)
    from conftest import Api


async def test_a_deploy_past_the_functions_quota_is_refused_naming_it(api: Api) -> None:
    key = await api.tenant_key("acme", functions=1)
    async with api.client(key) as http:
        assert (await http.post("/v1/functions", content=api.bundle("one"))).status_code == 201
        refused = await http.post("/v1/functions", content=api.bundle("two"))
        # A new version of an existing function is no new function.
        again = await http.post("/v1/functions", content=api.bundle("one", extra_bytes=10))
        listed = (await http.get("/v1/functions")).json()["functions"]
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert (error["type"], error["quota"], error["limit"], error["value"]) == (
        "QuotaExceeded", "functions", 1, 2)
    assert error["message"] == ("quota functions exceeded: tenant 'acme' may have 1 functions; "
                                "this deploy would make 2")
    assert again.status_code == 201
    assert [f["name"] for f in listed] == ["one"]


async def test_a_deploy_bigger_than_deploy_bytes_is_refused_with_its_size(api: Api) -> None:
    key = await api.tenant_key("acme", deploy_bytes=4096)
    async with api.client(key) as http:
        refused = await http.post("/v1/functions", content=api.bundle("big", extra_bytes=5000))
        assert (await http.get("/v1/functions")).json()["functions"] == []
    error = refused.json()["error"]
    assert refused.status_code == 403 and error["quota"] == "deploy_bytes"
    assert error["limit"] == 4096 and error["value"] > 5000
    assert "4096" in error["message"] and str(error["value"]) in error["message"]


async def test_stored_code_over_all_versions_counts_against_code_bytes(api: Api) -> None:
    key = await api.tenant_key("acme", code_bytes=12_000)
    async with api.client(key) as http:
        first = await http.post("/v1/functions", content=api.bundle("f", extra_bytes=5000))
        second = await http.post("/v1/functions", content=api.bundle("f", extra_bytes=5001))
        third = await http.post("/v1/functions", content=api.bundle("f", extra_bytes=5002))
        versions = (await http.get("/v1/functions/f/versions")).json()["versions"]
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 403)
    assert third.json()["error"]["quota"] == "code_bytes"
    assert len(versions) == 2


async def test_the_streamed_deploy_reports_the_refusal_with_the_quota(api: Api) -> None:
    key = await api.tenant_key("acme", functions=0)
    async with api.client(key) as http:
        streamed = await http.post("/v1/functions", content=api.bundle("f"),
                                   headers={"accept": "application/x-ndjson"})  # fmt: skip
    event = json.loads(streamed.text.strip().splitlines()[-1])
    assert event["event"] == "error" and event["status"] == 403
    assert event["error"]["quota"] == "functions" and event["error"]["limit"] == 0


async def test_raising_the_quota_lets_the_same_deploy_through(api: Api) -> None:
    key = await api.tenant_key("acme", functions=0)
    async with api.client(key) as http:
        assert (await http.post("/v1/functions", content=api.bundle("f"))).status_code == 403
        async with api.client(api.admin) as admin:
            await admin.patch("/v1/tenants/acme", json={"quotas": {"functions": None}})
        assert (await http.post("/v1/functions", content=api.bundle("f"))).status_code == 201


async def test_quotas_of_one_tenant_do_not_touch_another(api: Api) -> None:
    await api.tenant_key("acme", functions=0)
    other = await api.tenant_key("beta")
    async with api.client(other) as http:
        assert (await http.post("/v1/functions", content=api.bundle("f"))).status_code == 201
