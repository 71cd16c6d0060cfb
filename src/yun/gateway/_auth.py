"""API key checks with a small cache, so the invoke path does not query the store per call."""

from __future__ import annotations

import time

from yun.core import Unauthorized
from yun.store import ApiKey, Store

_MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(self, store: Store, ttl: float = 5.0, negative_ttl: float = 1.0) -> None:
        self.store = store
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self._entries: dict[str, tuple[ApiKey | None, float]] = {}

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
        now = time.monotonic()
        cached = self._entries.get(token)
        if cached is not None and cached[1] > now:
            key = cached[0]
        else:
            key = await self.store.lookup_api_key(token)
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[token] = (key, now + (self.ttl if key else self.negative_ttl))
        if key is None:
            raise Unauthorized(f"unknown API key '{token[:8]}…'")
        return key

    def clear(self) -> None:
        self._entries.clear()
