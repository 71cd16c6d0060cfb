"""Quotas on the invoke path: refused with 429 and Retry-After, and recorded as throttled."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

from test_tenants import cli_as, client, new_tenant
from yun_harness import FUNCTIONS, Yun, activation


def test_invocations_past_a_tenants_rate_are_refused_with_429_and_recorded(yun: Yun) -> None:
    key = new_tenant(yun, "slow", "invocations_per_second=1", "invocation_burst=1")
    assert cli_as(yun, key, "deploy", str(FUNCTIONS / "hello")).returncode == 0
    with client(yun, key) as http:
        codes = [http.post("/fn/hello", json={}) for _ in range(5)]
        refused = [r for r in codes if r.status_code == 429]
        assert refused, [r.status_code for r in codes]
        assert refused[0].headers["retry-after"]
        error = refused[0].json()["error"]
        assert error["type"] == "invocations_per_second"
        assert "invocations per second" in error["message"]
        record = activation(http, refused[0].headers["x-yun-activation-id"])
    assert record["status"] == "throttled" and record["billed_ms"] == 0


def test_a_tenants_instance_quota_caps_its_concurrency(yun: Yun, tmp_path: Path) -> None:
    key = new_tenant(yun, "narrow", "concurrent_instances=1")
    assert cli_as(yun, key, "deploy", str(FUNCTIONS / "hello")).returncode == 0  # max: 4
    with client(yun, key) as http, concurrent.futures.ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(
            lambda _: http.post("/fn/hello", json={"sleep": 0.3}), range(4)))
    assert all(r.status_code == 200 for r in responses)
    assert len({r.json()["pid"] for r in responses}) == 1  # queued for the one instance


def test_other_tenants_are_not_slowed_by_one_tenants_quota(yun: Yun) -> None:
    key = new_tenant(yun, "limited", "invocations_per_second=1", "invocation_burst=1")
    assert cli_as(yun, key, "deploy", str(FUNCTIONS / "hello")).returncode == 0
    yun.deploy(FUNCTIONS / "hello")
    with client(yun, key) as limited, yun.http() as free:
        for _ in range(3):
            limited.post("/fn/hello", json={})
        assert all(free.post("/fn/hello", json={}).status_code == 200 for _ in range(5))
