"""The trigger manager: routes follow deploys at once, sources follow after reconciling,
clashing routes are refused before a deploy is stored, listings carry URLs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from events_recording import RecordingSubmit

from yun.core import Manifest, ManifestError, NotFound, Version
from yun.core.types import CronTrigger, HttpTrigger, WebhookTrigger
from yun.events import RouteTable, TriggerManager
from yun.store import Store

SECRET = {"HOOK": "0123456789abcdef"}


async def never(tenant: str, target: str, body: bytes) -> bool:
    raise AssertionError("no JetStream triggers here")


class Routes:
    def __init__(self) -> None:
        self.tables: dict[str, RouteTable] = {}

    def __call__(self, tenant: str, table: RouteTable) -> None:
        self.tables[tenant] = table


@contextlib.asynccontextmanager
async def running(manager: TriggerManager) -> AsyncIterator[None]:
    task = asyncio.create_task(manager.run())
    try:
        yield
    finally:
        manager.stop()
        await asyncio.wait_for(task, 5)


async def deploy(store: Store, manifest: Manifest) -> Version:
    version, _ = await store.create_version("default", manifest, "c", None, 1)
    return version


async def settle(manager: TriggerManager, tenant: str, kinds: list[str]) -> None:
    async with asyncio.timeout(5):
        while manager.running(tenant) != kinds:
            await asyncio.sleep(0.01)


async def test_a_deploy_updates_routes_at_once_and_starts_sources(
        store: Store, submit: RecordingSubmit) -> None:
    routes = Routes()
    manager = TriggerManager(store, submit, never, routes, "http://yun.test")
    await manager.load()
    async with running(manager):
        version = await deploy(store, Manifest(name="api", handler="m:f", triggers=(
            HttpTrigger("/items/{id}", ("GET",)), CronTrigger("0 * * * *"))))
        manager.deployed("default", version)
        found = routes.tables["default"].match("GET", "/items/3")
        assert found is not None and found.function == "api"
        await settle(manager, "default", ["cron"])
        manager.deployed("default", await deploy(store, Manifest(name="api", handler="m:f")))
        assert routes.tables["default"].match("GET", "/items/3") is None
        await settle(manager, "default", [])


async def test_a_removed_function_loses_its_routes_and_sources(
        store: Store, submit: RecordingSubmit) -> None:
    routes = Routes()
    await deploy(store, Manifest(name="report", handler="m:f", triggers=(
        CronTrigger("0 * * * *"), HttpTrigger("/r"))))
    manager = TriggerManager(store, submit, never, routes, "http://yun.test")
    await manager.load()  # what a restart finds
    async with running(manager):
        await settle(manager, "default", ["cron"])
        await store.delete_function("default", "report")
        manager.removed("default", "report")
        assert not routes.tables["default"]
        await settle(manager, "default", [])


async def test_a_disabled_tenant_has_no_running_sources(
        store: Store, submit: RecordingSubmit) -> None:
    manager = TriggerManager(store, submit, never, Routes(), "http://yun.test")
    await deploy(store, Manifest(name="report", handler="m:f",
                                 triggers=(CronTrigger("0 * * * *"),)))
    await manager.load()
    async with running(manager):
        await settle(manager, "default", ["cron"])
        manager.tenant_changed("default", disabled=True)
        await settle(manager, "default", [])
        manager.tenant_changed("default", disabled=False)
        await settle(manager, "default", ["cron"])


async def test_a_clashing_route_is_refused_before_the_deploy(
        store: Store, submit: RecordingSubmit) -> None:
    manager = TriggerManager(store, submit, never, Routes(), "http://yun.test")
    manager.deployed("default", await deploy(store, Manifest(
        name="a", handler="m:f", triggers=(HttpTrigger("/x", ("GET",)),))))
    with pytest.raises(ManifestError, match="route GET /x of function 'b' clashes"):
        manager.check("default", Manifest(name="b", handler="m:f",
                                          triggers=(HttpTrigger("/x", ("GET",)),)))
    # Redeploying the owner with the same route is fine.
    manager.check("default", Manifest(name="a", handler="m:f",
                                      triggers=(HttpTrigger("/x", ("GET",)),)))


async def test_the_listing_has_urls_for_routes_and_webhooks(
        store: Store, submit: RecordingSubmit) -> None:
    manager = TriggerManager(store, submit, never, Routes(), "http://yun.test/")
    manager.deployed("default", await deploy(store, Manifest(
        name="hooks", handler="m:f", env=SECRET,
        triggers=(HttpTrigger("/in"), WebhookTrigger("HOOK")))))
    http, hook = await manager.describe("default", "hooks")
    assert http == {"function": "hooks", "index": 0, "kind": "http",
                    "url": "http://yun.test/r/default/in",
                    "options": {"path": "/in", "methods": ["ANY"], "auth": "key"}}
    assert hook["url"] == "http://yun.test/hook/" + await store.ensure_webhook(
        "default", "hooks", "HOOK")
    with pytest.raises(NotFound, match="function 'ghost' does not exist"):
        await manager.describe("default", "ghost")
