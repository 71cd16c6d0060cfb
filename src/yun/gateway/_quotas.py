"""Tenant quotas: the limits, and the decisions that enforce them, without I/O.

Callers pass what they know — `now` (monotonic seconds), running instances and their memory,
the usage a deploy would leave — and get `None` (go ahead) or a `Refusal` that names the
quota, its limit and the value that broke it. `Refusal.error()` is the exception to answer
with: `RateLimited` (429, retry later) for rates and running instances, `QuotaExceeded` (403)
for what stays refused until usage drops or an admin raises the quota.

Where each check runs:

- `check_deploy`: the control API's deploy, inside the store transaction (exact under races).
- `check_invoke`: the invoke path, after the key is known and before the body is read.
- `check_instance_start`: the node agent, before it starts an instance for a tenant.
- `check_bucket_create`: the control API, before it creates a bucket.

Invocation rates are counted per process: with N gateways a tenant may reach N times its
`invocations_per_second`. Divide the quota by N until the buckets are shared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import cast

from yun.core import InvalidRequest, QuotaExceeded, RateLimited, YunError

# A JSON number beyond this loses precision; no quota needs more.
_MAX_VALUE = 2**53


@dataclass(frozen=True, slots=True)
class Quotas:
    """The limits of one tenant. The defaults follow AWS's account defaults (75 GB of code,
    250 MB unpacked per function; API Gateway's 10 000 requests/s with a burst of 5000),
    except running instances: 2000 of the default 128 MiB, twice Lambda's 1000 concurrent
    executions, because idle Yun instances cost ~1.5 MiB each and a single-tenant node holds
    more than 1000 of them. A default tenant is never the bottleneck of a single node;
    admission control guards the machine's real memory."""

    concurrent_instances: int = 2000  # running instances, over all functions
    invocations_per_second: float = 10_000.0  # token bucket refill rate
    invocation_burst: int = 5000  # token bucket size
    memory_mb: int = 2000 * 128  # summed memory limits of running instances (MiB)
    functions: int = 1000
    code_bytes: int = 75 << 30  # unpacked code of all stored versions
    deploy_bytes: int = 250 << 20  # unpacked code of one deploy
    buckets: int = 100  # as S3's default per account

    def with_overrides(self, overrides: Mapping[str, float]) -> Quotas:
        """These quotas with `overrides` applied; unknown names are ignored, so a quota
        removed in a later release does not break tenants that still carry it."""
        changes: dict[str, float] = {}
        for name, value in overrides.items():
            if name in QUOTA_NAMES:
                changes[name] = float(value) if name in _FRACTIONAL else int(value)
        return replace(self, **changes)  # type: ignore[arg-type]

    def view(self) -> dict[str, float]:
        return {f.name: cast(float, getattr(self, f.name)) for f in fields(self)}


QUOTA_NAMES = tuple(f.name for f in fields(Quotas))
_FRACTIONAL = frozenset({"invocations_per_second"})  # the others are whole numbers


def parse_overrides(raw: Mapping[str, object]) -> dict[str, float | None]:
    """Validate quota overrides from a request: known names, numbers in range; None resets
    a quota to its default. InvalidRequest names the quota and the bad value."""
    parsed: dict[str, float | None] = {}
    for name, value in raw.items():
        if name not in QUOTA_NAMES:
            raise InvalidRequest(
                f"unknown quota {name!r}: the quotas are {', '.join(QUOTA_NAMES)}"
            )
        if value is None:
            parsed[name] = None
            continue
        whole = name not in _FRACTIONAL
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (whole and isinstance(value, float) and not value.is_integer())
            or not math.isfinite(value)
            or not 0 <= value <= _MAX_VALUE
        ):
            kind = "a whole number" if whole else "a number"
            raise InvalidRequest(
                f"quota {name} must be {kind} from 0 to {_MAX_VALUE}, was: {value!r}"
            )
        if name == "invocation_burst" and value < 1:
            raise InvalidRequest(f"quota invocation_burst must be at least 1, was: {value!r}")
        parsed[name] = int(value) if whole else float(value)
    return parsed


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused. `retry_after` set: temporary (429); None: it stays refused
    until usage drops or the quota is raised (403)."""

    quota: str
    limit: float
    value: float
    message: str
    retry_after: float | None = None

    @property
    def status(self) -> int:
        return 429 if self.retry_after is not None else 403

    def error(self) -> YunError:
        if self.retry_after is not None:
            return RateLimited(self.message, self.quota, self.limit, self.value,
                               self.retry_after)  # fmt: skip
        return QuotaExceeded(self.message, self.quota, self.limit, self.value)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _refusal(tenant: str, quota: str, limit: float, value: float, what: str, detail: str,
             retry_after: float | None = None) -> Refusal:  # fmt: skip
    message = (f"quota {quota} exceeded: tenant '{tenant}' may have {_number(limit)} {what}; "
               f"{detail}")  # fmt: skip
    return Refusal(quota, limit, value, message, retry_after)


class TokenBucket:
    """`rate` tokens per second up to `burst`; starts full. Pure: `now` is passed in."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 if there was one, else the seconds until there will be
        (`math.inf` at rate 0)."""
        if now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate

    def reconfigure(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = min(self.tokens, float(burst))


def check_deploy(
    tenant: str, quotas: Quotas, *, functions: int, code_bytes: int, deploy_bytes: int
) -> Refusal | None:
    """A deploy of `deploy_bytes` of code that would leave the tenant with `functions`
    functions and `code_bytes` of stored code."""
    if deploy_bytes > quotas.deploy_bytes:
        return _refusal(tenant, "deploy_bytes", quotas.deploy_bytes, deploy_bytes,
                        "bytes of code per deploy", f"this one unpacks to {deploy_bytes}")
    if functions > quotas.functions:
        return _refusal(tenant, "functions", quotas.functions, functions, "functions",
                        f"this deploy would make {functions}")  # fmt: skip
    if code_bytes > quotas.code_bytes:
        return _refusal(tenant, "code_bytes", quotas.code_bytes, code_bytes,
                        "bytes of code over all versions",
                        f"this deploy would make {code_bytes}")  # fmt: skip
    return None


def check_instance_start(
    tenant: str, quotas: Quotas, *, memory_mb: int, running_instances: int,
    running_memory_mb: float, retry_after: float = 1.0,
) -> Refusal | None:  # fmt: skip
    """Starting one more instance of `memory_mb` next to the tenant's running ones."""
    count = running_instances + 1
    if count > quotas.concurrent_instances:
        return _refusal(tenant, "concurrent_instances", quotas.concurrent_instances, count,
                        "instances running at once", f"one more would make {count}",
                        retry_after)  # fmt: skip
    total = running_memory_mb + memory_mb
    if total > quotas.memory_mb:
        return _refusal(tenant, "memory_mb", quotas.memory_mb, total,
                        "MiB of running instances",
                        f"one more of {memory_mb} MiB would make {_number(total)} MiB",
                        retry_after)  # fmt: skip
    return None


def check_bucket_create(tenant: str, quotas: Quotas, *, buckets: int) -> Refusal | None:
    """A new bucket that would leave the tenant with `buckets` buckets. (Checked before the
    create, not inside it: two racing creates may pass one bucket over the quota.)"""
    if buckets > quotas.buckets:
        return _refusal(tenant, "buckets", quotas.buckets, buckets, "buckets",
                        f"one more would make {buckets}")  # fmt: skip
    return None


class QuotaBook:
    """Each tenant's effective quotas and invocation bucket, in this process.

    Fed with `configure` (at start for every tenant, then whenever a tenant is created or
    changed, and by the key cache whenever it reloads a tenant); a tenant it was never told
    about gets `defaults`.
    """

    def __init__(self, defaults: Quotas | None = None) -> None:
        self.defaults = defaults or Quotas()
        self._quotas: dict[str, Quotas] = {}
        self._buckets: dict[str, TokenBucket] = {}

    def configure(self, tenant: str, overrides: Mapping[str, float]) -> Quotas:
        quotas = self.defaults.with_overrides(overrides)
        self._quotas[tenant] = quotas
        bucket = self._buckets.get(tenant)
        if bucket is not None:
            bucket.reconfigure(quotas.invocations_per_second, quotas.invocation_burst)
        return quotas

    def forget(self, tenant: str) -> None:
        self._quotas.pop(tenant, None)
        self._buckets.pop(tenant, None)

    def quotas(self, tenant: str) -> Quotas:
        return self._quotas.get(tenant, self.defaults)

    def check_invoke(self, tenant: str, now: float) -> Refusal | None:
        """One invocation at `now` (monotonic seconds); takes a token when it is allowed."""
        quotas = self.quotas(tenant)
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = TokenBucket(
                quotas.invocations_per_second, quotas.invocation_burst, now
            )
        wait = bucket.take(now)
        if wait == 0.0:
            return None
        rate = quotas.invocations_per_second
        if math.isinf(wait):
            message = (f"quota invocations_per_second exceeded: tenant '{tenant}' may make 0 "
                       f"invocations per second")  # fmt: skip
            return Refusal("invocations_per_second", rate, 1, message, 60.0)
        message = (f"quota invocations_per_second exceeded: tenant '{tenant}' may make "
                   f"{_number(rate)} invocations per second (burst {quotas.invocation_burst}); "
                   f"retry in {wait:.3f} s")  # fmt: skip
        return Refusal("invocations_per_second", rate, quotas.invocation_burst + 1, message,
                       wait)  # fmt: skip

    def check_instance_start(
        self, tenant: str, memory_mb: int, running_instances: int, running_memory_mb: float
    ) -> Refusal | None:
        """One more instance of `memory_mb` for `tenant`, which runs `running_instances`
        using `running_memory_mb` (summed memory limits) on this node."""
        return check_instance_start(
            tenant, self.quotas(tenant), memory_mb=memory_mb,
            running_instances=running_instances, running_memory_mb=running_memory_mb,
        )  # fmt: skip

    def check_bucket_create(self, tenant: str, buckets: int) -> Refusal | None:
        """A new bucket that would leave the tenant with `buckets` buckets."""
        return check_bucket_create(tenant, self.quotas(tenant), buckets=buckets)

    def check_deploy(
        self, tenant: str, functions: int, code_bytes: int, deploy_bytes: int
    ) -> Refusal | None:
        """A deploy that would leave `functions` functions and `code_bytes` of code."""
        return check_deploy(tenant, self.quotas(tenant), functions=functions,
                            code_bytes=code_bytes, deploy_bytes=deploy_bytes)  # fmt: skip
