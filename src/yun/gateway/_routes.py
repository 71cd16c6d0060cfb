"""Name → version resolution for the invoke path: latest, an alias (with its traffic split),
or a version number; cached in memory and invalidated on every change."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from yun.core import InvalidRequest, NotFound, Version
from yun.gateway._flight import SingleFlight
from yun.store import Store


@dataclass(frozen=True)
class Route:
    primary: Version
    # (cumulative percent upper bound, version) for the weighted alternatives of an alias
    splits: tuple[tuple[int, Version], ...] = ()

    def pick(self, roll: float) -> Version:
        """`roll` in [0, 100): an alias's weights send that share of traffic elsewhere."""
        for bound, version in self.splits:
            if roll < bound:
                return version
        return self.primary


class Resolver:
    def __init__(self, store: Store, ttl: float = 30.0) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[tuple[str, str, str], tuple[Route, float]] = {}
        self._random = random.Random()
        self._loads: SingleFlight[tuple[str, str, str], Route] = SingleFlight()

    async def resolve(self, tenant: str, target: str) -> Version:
        version = self.cached(tenant, target)
        if version is not None:
            return version
        name, _, qualifier = target.partition(":")
        key = (tenant, name, qualifier)
        now = time.monotonic()
        route = await self._loads.load(key, lambda: self._load(tenant, name, qualifier))
        self._cache[key] = (route, now + self.ttl)
        return route.pick(self._random.random() * 100)

    def cached(self, tenant: str, target: str) -> Version | None:
        """`resolve` when the route is cached (the common case, without a coroutine); None
        when it is not: `resolve` loads it, or says what is wrong with `target`."""
        name, _, qualifier = target.partition(":")
        cached = self._cache.get((tenant, name, qualifier))
        if cached is None or cached[1] <= time.monotonic():
            return None
        return cached[0].pick(self._random.random() * 100)

    async def _load(self, tenant: str, name: str, qualifier: str) -> Route:
        if not qualifier or qualifier == "latest":
            return Route(await self.store.latest_version(tenant, name))
        if qualifier.isdigit():
            return Route(await self.store.get_version(tenant, name, int(qualifier)))
        if not qualifier.replace("-", "").replace("_", "").isalnum():
            raise InvalidRequest(f"bad qualifier {qualifier!r}: use a version number or an alias")
        try:
            alias = await self.store.get_alias(tenant, name, qualifier)
        except NotFound:
            await self.store.latest_version(tenant, name)  # says "function does not exist" first
            raise
        primary = await self.store.get_version(tenant, name, alias.version)
        splits = []
        bound = 0
        for number, weight in sorted(alias.weights.items()):
            bound += weight
            splits.append((bound, await self.store.get_version(tenant, name, number)))
        return Route(primary, tuple(splits))

    def invalidate(self, tenant: str, name: str) -> None:
        for key in [k for k in self._cache if k[0] == tenant and k[1] == name]:
            del self._cache[key]
        self._loads.forget_all()  # rare (deploys, alias changes): no need to pick by name
