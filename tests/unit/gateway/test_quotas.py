"""Quota decisions: pure functions of limits, counts and an injected clock."""

from __future__ import annotations

import math

import pytest

from yun.core import FakeClock, InvalidRequest, QuotaExceeded, RateLimited, http_status
from yun.gateway import QUOTA_NAMES, QuotaBook, Quotas, parse_overrides
from yun.gateway._quotas import TokenBucket, check_deploy, check_instance_start

# -- the token bucket ---------------------------------------------------------------------


def test_a_full_bucket_allows_a_burst_then_refuses_with_the_wait_for_one_token() -> None:
    bucket = TokenBucket(rate=10.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst() -> None:
    bucket = TokenBucket(rate=2.0, burst=2, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.take(0.25) == pytest.approx(0.25)  # half a token is there
    assert bucket.take(0.5) == 0.0
    assert [bucket.take(100.0) for _ in range(3)][:2] == [0.0, 0.0]
    assert bucket.take(100.0) > 0


def test_a_clock_that_steps_back_does_not_mint_tokens() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=10.0)
    assert bucket.take(10.0) == 0.0
    assert bucket.take(5.0) == pytest.approx(1.0)


def test_rate_zero_refuses_forever() -> None:
    bucket = TokenBucket(rate=0.0, burst=1, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert math.isinf(bucket.take(1e9))


def test_over_a_long_run_the_bucket_admits_rate_times_time_plus_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100.0, burst=20, now=clock.now())
    admitted = 0
    for _ in range(100_000):  # 1000 requests/s offered for 100 s
        clock.advance(0.001)
        admitted += bucket.take(clock.now()) == 0.0
    assert admitted == pytest.approx(100 * 100 + 20, abs=2)


# -- the book ------------------------------------------------------------------------------


def test_check_invoke_refuses_past_the_tenants_rate_with_a_retry_after() -> None:
    book = QuotaBook()
    book.configure("acme", {"invocations_per_second": 5, "invocation_burst": 2})
    clock = FakeClock(1000.0)
    assert book.check_invoke("acme", clock.now()) is None
    assert book.check_invoke("acme", clock.now()) is None
    refusal = book.check_invoke("acme", clock.now())
    assert refusal is not None and refusal.status == 429
    assert (refusal.quota, refusal.limit) == ("invocations_per_second", 5.0)
    assert refusal.retry_after == pytest.approx(0.2)
    assert refusal.message.startswith(
        "quota invocations_per_second exceeded: tenant 'acme' may make 5 invocations per "
        "second (burst 2)")
    clock.advance(0.2)
    assert book.check_invoke("acme", clock.now()) is None


def test_tenants_have_separate_buckets() -> None:
    book = QuotaBook(Quotas(invocations_per_second=1, invocation_burst=1))
    assert book.check_invoke("a", 0.0) is None
    assert book.check_invoke("a", 0.0) is not None
    assert book.check_invoke("b", 0.0) is None


def test_a_changed_rate_applies_to_the_existing_bucket_without_a_fresh_burst() -> None:
    book = QuotaBook(Quotas(invocations_per_second=1, invocation_burst=10))
    for _ in range(10):
        assert book.check_invoke("a", 0.0) is None
    book.configure("a", {"invocations_per_second": 100})
    assert book.check_invoke("a", 0.0) is not None
    assert book.check_invoke("a", 0.01) is None


def test_unknown_tenants_get_the_defaults_and_forget_drops_overrides() -> None:
    book = QuotaBook()
    assert book.quotas("nobody") == Quotas()
    book.configure("acme", {"functions": 1})
    book.forget("acme")
    assert book.quotas("acme") == Quotas()


def test_instance_starts_are_refused_past_the_count_and_the_memory() -> None:
    book = QuotaBook()
    book.configure("acme", {"concurrent_instances": 2, "memory_mb": 1024})
    assert book.check_instance_start("acme", 512, running_instances=1,
                                     running_memory_mb=512) is None  # fmt: skip
    count = book.check_instance_start("acme", 128, running_instances=2, running_memory_mb=256)
    assert count is not None and count.status == 429
    assert (count.quota, count.limit, count.value) == ("concurrent_instances", 2, 3)
    assert count.message == ("quota concurrent_instances exceeded: tenant 'acme' may have 2 "
                             "instances running at once; one more would make 3")
    memory = book.check_instance_start("acme", 512, running_instances=1, running_memory_mb=768)
    assert memory is not None and (memory.quota, memory.value) == ("memory_mb", 1280)
    assert "1024 MiB" in memory.message and "1280" in memory.message


def test_deploys_are_refused_by_size_then_count_then_total() -> None:
    quotas = Quotas(functions=2, code_bytes=1000, deploy_bytes=600)
    assert check_deploy("t", quotas, functions=2, code_bytes=1000, deploy_bytes=600) is None
    size = check_deploy("t", quotas, functions=3, code_bytes=2000, deploy_bytes=601)
    count = check_deploy("t", quotas, functions=3, code_bytes=2000, deploy_bytes=10)
    total = check_deploy("t", quotas, functions=2, code_bytes=1001, deploy_bytes=10)
    assert [r.quota if r else None for r in (size, count, total)] == [
        "deploy_bytes", "functions", "code_bytes"]
    assert all(r is not None and r.status == 403 for r in (size, count, total))


def test_a_refusal_becomes_the_matching_error_with_its_http_status() -> None:
    over = check_deploy("t", Quotas(functions=0), functions=1, code_bytes=0, deploy_bytes=0)
    busy = check_instance_start("t", Quotas(concurrent_instances=0), memory_mb=128,
                                running_instances=0, running_memory_mb=0)  # fmt: skip
    assert over is not None and busy is not None
    quota_error, rate_error = over.error(), busy.error()
    assert isinstance(quota_error, QuotaExceeded) and http_status(quota_error) == 403
    assert isinstance(rate_error, RateLimited) and http_status(rate_error) == 429
    assert (quota_error.quota, quota_error.limit, quota_error.value) == ("functions", 0, 1)
    assert rate_error.retry_after == 1.0


# -- overrides ------------------------------------------------------------------------------


def test_overrides_are_validated_by_name_and_value() -> None:
    assert parse_overrides({"functions": 3, "invocations_per_second": 0.5,
                            "memory_mb": 2048.0, "code_bytes": None}) == {
        "functions": 3, "invocations_per_second": 0.5, "memory_mb": 2048, "code_bytes": None}
    for bad in ({"cpu": 1}, {"functions": -1}, {"functions": 1.5}, {"functions": "3"},
                {"functions": True}, {"memory_mb": float("nan")}, {"code_bytes": 2**60},
                {"invocation_burst": 0}):  # fmt: skip
        with pytest.raises(InvalidRequest) as caught:
            parse_overrides(bad)
        assert next(iter(bad)) in caught.value.message


def test_an_unknown_name_lists_the_quotas() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_overrides({"cpus": 1})
    assert all(name in caught.value.message for name in QUOTA_NAMES)


def test_stored_overrides_of_quotas_that_no_longer_exist_are_ignored() -> None:
    assert Quotas().with_overrides({"gone": 1, "functions": 7}) == Quotas(functions=7)
