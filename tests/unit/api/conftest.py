"""The control API in-process: a real SQLite store and deployer, no node (no sandboxes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from yun.api import Deployer, create_api
from yun.events import BucketSource
from yun.gateway import KeyCache, QuotaBook
from yun.storage import CodeStore, LayerStore, LocalBuckets, ObjectEvent, pack
from yun.store import ApiKey, NewApiKey, Store, Tenant


@dataclass
class Api:
    """The app, its store, and a client per key; `events` records the platform hooks."""

    store: Store
    keys: KeyCache
    quotas: QuotaBook
    transport: httpx.ASGITransport
    admin: str
    tmp: Path
    buckets: LocalBuckets
    events: list[tuple[str, str]] = field(default_factory=list)
    bucket_events: list[ObjectEvent] = field(default_factory=list)
    source: BucketSource = field(default_factory=lambda: BucketSource(_no_submit))

    def client(self, key: str | None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=self.transport, base_url="http://yun.test",
                                 headers=headers)  # fmt: skip

    def bundle(self, name: str, extra_bytes: int = 0) -> bytes:
        folder = self.tmp / "src" / f"{name}-{extra_bytes}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "yun.yaml").write_text(f"name: {name}\nhandler: main:handle\n")
        (folder / "main.py").write_text("def handle(event, context):\n    return 1\n")
        if extra_bytes:
            (folder / "data.bin").write_bytes(b"x" * extra_bytes)
        return pack(folder)

    async def tenant_key(self, tenant: str, **quotas: float) -> str:
        """Create `tenant` (with quota overrides) and a key for it, as the admin."""
        async with self.client(self.admin) as http:
            made = await http.post("/v1/tenants", json={"name": tenant, "quotas": quotas})
            assert made.status_code == 201, made.text
            key = await http.post("/v1/keys", params={"tenant": tenant}, json={"name": "k"})
            assert key.status_code == 201, key.text
            return str(key.json()["key"])


async def _no_submit(_tenant: str, _target: str, _body: bytes, _source: str,
                     _dedupe: str | None) -> str:
    return "inv"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}")
    quotas = QuotaBook()
    keys = KeyCache(store, quotas=quotas)
    keys.remember_tenants(await store.list_tenants())
    admin = (await store.create_api_key("default", "admin", admin=True)).plaintext
    deployer = Deployer(store, CodeStore(tmp_path / "code"), LayerStore(tmp_path / "layers"),
                        tmp_path / "staging", lambda _t, _v: None, quotas=quotas)  # fmt: skip
    holder: list[Api] = []

    async def on_tenant_changed(tenant: Tenant) -> None:
        holder[0].events.append(("tenant", f"{tenant.name} disabled={tenant.disabled}"))

    def on_key_replaced(old: ApiKey, new: NewApiKey) -> None:
        holder[0].events.append(("rotated", f"{old.id}->{new.key.id}"))

    async def on_bucket_event(event: ObjectEvent) -> None:
        holder[0].bucket_events.append(event)
        await holder[0].source.deliver(event)

    # Objects past 1 MiB are refused here, so the limit is cheap to test.
    buckets = LocalBuckets(tmp_path / "buckets", on_event=on_bucket_event)
    source = BucketSource(_no_submit)
    app = create_api(store, keys, deployer, lambda _t, _n: None, lambda _t, _n: None,
                     lambda _t: [], quotas=quotas, on_tenant_changed=on_tenant_changed,
                     on_key_replaced=on_key_replaced, buckets=buckets,
                     max_object_bytes=1 << 20, bucket_source=source)  # fmt: skip
    holder.append(Api(store, keys, quotas, httpx.ASGITransport(app=app), admin, tmp_path,
                      buckets, source=source))
    try:
        yield holder[0]
    finally:
        await store.close()
