"""Who is calling: API keys and their tenants, cached briefly so the invoke path does not
query the store per call.

A cached entry lives `ttl` seconds (30 by default: a store query per call would cost a
cold start more than its sandbox does). This process drops entries the moment it changes them
(`forget_key` after a revoke or rotation, `remember_tenant` after a tenant is disabled or its
quotas change); another process sharing the store sees the change within `ttl`.

Two ways in, one per kind of route:

- `authenticate(authorization)`: routes that need a key (the control API, `POST /fn/NAME`).
  The key must be known and unrevoked, and its tenant enabled.
- `active_tenant(name)`: routes that need no key (the public HTTP trigger, issue 5). The
  route names its tenant; a disabled tenant's public routes should answer as if they did not
  exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from yun.core import NotFound, PlatformError, Unauthorized
from yun.gateway._flight import SingleFlight
from yun.gateway._quotas import QuotaBook
from yun.store import ApiKey, Store, Tenant

_MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(
        self,
        store: Store,
        ttl: float = 30.0,
        negative_ttl: float = 1.0,
        quotas: QuotaBook | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.quotas = quotas
        self._clock = clock  # cache deadlines
        self._wall = wall  # key expiry (epoch seconds, as the store stamps it)
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}
        self._tenants: dict[str, tuple[Tenant | None, float]] = {}
        # uids never change, so they are kept past the ttl (and read synchronously).
        self._uids: dict[str, int] = {}
        self._key_loads: SingleFlight[str, ApiKey | None] = SingleFlight()
        self._tenant_loads: SingleFlight[str, Tenant | None] = SingleFlight()

    async def authenticate(self, authorization: str | None) -> ApiKey:
        """The key named by an `Authorization: Bearer …` header, or Unauthorized."""
        if not authorization:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' "
                               "(the local admin key is in the data dir's admin.key)")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(f"malformed Authorization header: expected 'Bearer <key>', "
                               f"was: {scheme!r} scheme")
        now = self._clock()
        cached = self._keys.get(token)
        if cached is not None and cached[1] > now:
            key = cached[0]
        else:
            key = await self._key_loads.load(token, lambda: self._load_key(token, now))
        if key is None:
            raise Unauthorized(f"unknown API key '{token[:8]}…'")
        if not key.active(self._wall()):
            raise Unauthorized(f"API key '{token[:8]}…' has been revoked")
        # The hot path stays synchronous on a cache hit: no coroutine per call.
        cached_tenant = self._tenants.get(key.tenant)
        if cached_tenant is not None and cached_tenant[1] > now:
            tenant = cached_tenant[0]
        else:
            tenant = await self.tenant(key.tenant)
        if tenant is None:
            raise Unauthorized(f"unknown API key '{token[:8]}…'")
        if tenant.disabled:
            raise Unauthorized(f"tenant '{tenant.name}' is disabled: its API keys are refused "
                               f"until an admin enables it")
        return key

    def cached(self, authorization: str | None) -> ApiKey | None:
        """The key of a well-formed `Bearer` header if the key and its tenant are cached and
        good: the invoke path's common case without a coroutine. None says nothing more
        (unknown, refused or not cached): `authenticate` then decides, with its errors."""
        if not authorization or not authorization.startswith(("Bearer ", "bearer ")):
            return None
        now = self._clock()
        cached = self._keys.get(authorization[7:].strip())
        if cached is None or cached[1] <= now:
            return None
        key = cached[0]
        if key is None or not key.active(self._wall()):
            return None
        tenant = self._tenants.get(key.tenant)
        if tenant is None or tenant[1] <= now or tenant[0] is None or tenant[0].disabled:
            return None
        return key

    async def _load_key(self, token: str, now: float) -> ApiKey | None:
        key = await self.store.lookup_api_key(token)
        if len(self._keys) >= _MAX_ENTRIES:
            self._keys.clear()
        self._keys[token] = (key, now + (self.ttl if key else self.negative_ttl))
        return key

    async def tenant(self, name: str) -> Tenant | None:
        """The tenant (cached for `ttl`), or None if there is none of that name."""
        now = self._clock()
        cached = self._tenants.get(name)
        if cached is not None and cached[1] > now:
            return cached[0]
        return await self._tenant_loads.load(name, lambda: self._load_tenant(name, now))

    async def _load_tenant(self, name: str, now: float) -> Tenant | None:
        try:
            found = await self.store.get_tenant(name)
        except NotFound:
            if len(self._tenants) >= _MAX_ENTRIES:
                self._tenants.clear()
            self._tenants[name] = (None, now + self.negative_ttl)
            return None
        self.remember_tenants((found,))
        return found

    async def active_tenant(self, name: str) -> Tenant | None:
        """For routes without a key: the tenant if it exists and is enabled, else None."""
        tenant = await self.tenant(name)
        return tenant if tenant is not None and not tenant.disabled else None

    def uid(self, tenant: str) -> int:
        """The uid `tenant`'s instances run as. Known for every tenant loaded so far: all of
        them at start (`remember_tenants`), and any whose key was checked since."""
        uid = self._uids.get(tenant)
        if uid is None:
            # Never fall back to some default uid: that would run one tenant's code as
            # another's.
            raise PlatformError(f"the uid of tenant '{tenant}' is not loaded")
        return uid

    def remember_tenants(self, tenants: Iterable[Tenant]) -> None:
        """Cache tenants just read or written in this process, and pass their quotas on."""
        deadline = self._clock() + self.ttl
        for tenant in tenants:
            if len(self._tenants) >= _MAX_ENTRIES:
                self._tenants.clear()
            self._tenants[tenant.name] = (tenant, deadline)
            self._uids[tenant.name] = tenant.uid
            if self.quotas is not None:
                self.quotas.configure(tenant.name, tenant.quotas)

    def remember_tenant(self, tenant: Tenant) -> None:
        self.remember_tenants((tenant,))
        self._tenant_loads.forget(tenant.name)  # a load running now may have read it unchanged

    def forget_key(self, key_id: str) -> None:
        """Drop a revoked or rotated key now, instead of after `ttl`."""
        for token in [t for t, (k, _) in self._keys.items() if k is not None and k.id == key_id]:
            del self._keys[token]
        self._key_loads.forget_all()  # a lookup running now may have read the key unrevoked

    def clear(self) -> None:
        self._keys.clear()
        self._tenants.clear()
