"""The embedded profile assembled: store, node agent, gateway, control API and the flow runner
in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from yun.api import Deployer, create_api
from yun.core import Version
from yun.core.errors import RateLimited
from yun.flows import Runner, RunnerConfig
from yun.gateway import Deployments, InvokeApp, KeyCache, QuotaBook, Resolver
from yun.metering import Recorder
from yun.node import Admission, NodeAgent
from yun.queue import DispatchConfig, Dispatcher, Queue, Submit, Submitter, open_queue
from yun.sandbox import ProcessSandbox
from yun.server._config import Config
from yun.storage import CodeStore, LayerStore
from yun.store import DEFAULT_TENANT as DEFAULT_TENANT  # re-exported for `_run`
from yun.store import ApiKey, NewApiKey, Store, Tenant

log = logging.getLogger("yun")


class Platform:
    """Owns every long-lived part; `lifespan` starts and stops them in order."""

    def __init__(self, config: Config) -> None:
        self.config = config
        data = config.data_dir
        self.sandbox = ProcessSandbox(data / "logs" / "sandbox.log", namespaces=config.namespaces,
                                      blanks=config.blanks)
        # Each tenant's quotas and invocation bucket; the invoke path and the node agent ask
        # it (`check_invoke`, `check_instance_start`), the deployer asks `check_deploy`.
        self.quotas = QuotaBook()
        self.node = NodeAgent(self.sandbox, queue_depth=config.queue_depth,
                              tick_seconds=config.tick_seconds,
                              admission=Admission(reserve_mb=config.memory_reserve_mb),
                              instance_quota=self._instance_quota)
        self.code = CodeStore(data / "code")
        self.layers = LayerStore(data / "layers")
        self.store: Store | None = None
        self.admin_key: str | None = None
        self._admin_key_id: str | None = None
        self.keys: KeyCache | None = None
        self._api: Any = None
        self._invoke: InvokeApp | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._recorder: Recorder | None = None
        self.deployer: Deployer | None = None
        # Validated here so a bad YUN_FLOWS_* value stops `yun up` before anything starts.
        self.flows_config = RunnerConfig.from_env()
        self.flows: Runner | None = None
        self._flows_task: asyncio.Task[None] | None = None
        self.queue: Queue | None = None
        # How event sources enter the async path (durable on return); set at start-up.
        self.submit: Submit | None = None
        self.dispatcher: Dispatcher | None = None
        self._dispatch_task: asyncio.Task[None] | None = None

    def _instance_quota(self, tenant: str, memory_mb: int, running: int,
                        running_memory_mb: int) -> RateLimited | None:
        refusal = self.quotas.check_instance_start(tenant, memory_mb, running, running_memory_mb)
        if refusal is None:
            return None
        return RateLimited(refusal.message, refusal.quota, refusal.limit, refusal.value,
                           refusal.retry_after or 1.0)

    def start_sandbox(self) -> None:
        """Before the event loop: the zygote forks from a small, quiet process."""
        self.sandbox.start()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"].startswith("/fn/"):
            assert self._invoke is not None
            await self._invoke(scope, receive, send)
        else:
            await self._api(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            await self.startup()
        except Exception as exc:
            log.exception("start-up failed")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        await self.shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    async def startup(self) -> None:
        data = self.config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.store = store = await Store.open(self.config.database_url)
        self.keys = keys = KeyCache(store, quotas=self.quotas)
        # Every tenant's uid and quotas are known before any of its instances can start.
        tenants = await store.list_tenants()
        keys.remember_tenants(tenants)
        self.admin_key, self._admin_key_id = await _admin_key(store, data / "admin.key")
        resolver = Resolver(store)
        deployments = Deployments(self.node, self.code.root, self.layers.root,
                                  uid_for=keys.uid)
        self._recorder = Recorder(store)
        self._invoke = InvokeApp(keys, resolver, deployments, self._recorder,
                                 max_wait=self.config.max_wait, quotas=self.quotas)
        # Flows invoke functions through the same path as HTTP callers (quotas, records).
        self.flows = Runner(store, self._invoke, config=self.flows_config,
                            tenant_active=keys.active_tenant)
        self.queue = queue = await open_queue(self.config.queue_url, store)
        submitter = Submitter(queue, store, max_queued=self.config.async_max_queued)
        self.submit = self._invoke.submit = submitter

        async def deliver(tenant: str, target: str, record: bytes, dedupe_key: str) -> None:
            # on_success / on_failure → another function, through the async path.
            await submitter(tenant, target, record, "destination", dedupe_key)

        self.dispatcher = Dispatcher(
            queue, store, self._invoke, resolver.resolve, deliver, keys.active_tenant,
            DispatchConfig(max_in_flight=self.config.async_in_flight))
        submitter.on_put = self.dispatcher.wake

        def on_deployed(tenant: str, version: Version) -> None:
            resolver.invalidate(tenant, version.function)
            self._pin(deployments, tenant, version)

        def on_changed(tenant: str, name: str) -> None:
            resolver.invalidate(tenant, name)

        def on_removed(tenant: str, name: str) -> None:
            resolver.invalidate(tenant, name)
            self.node.drop(f"{tenant}/{name}@")

        async def on_tenant_changed(tenant: Tenant) -> None:
            if tenant.disabled:
                self.node.drop(f"{tenant.name}/")  # its instances stop with its keys
            else:
                await self._pin_tenant(deployments, tenant.name)

        def on_key_replaced(old: ApiKey, new: NewApiKey) -> None:
            if old.id == self._admin_key_id:
                # The local CLI reads admin.key: it follows the rotation.
                _write_key(data / "admin.key", new.plaintext)
                self.admin_key, self._admin_key_id = new.plaintext, new.key.id

        self.deployer = Deployer(store, self.code, self.layers, data / "staging", on_deployed,
                                 quotas=self.quotas)

        def node_status(tenant: str) -> list[dict[str, object]]:
            return [pool.view() for pool in self.node.status(tenant)]

        self._api = create_api(store, keys, self.deployer, on_changed, on_removed, node_status,
                               quotas=self.quotas, on_tenant_changed=on_tenant_changed,
                               on_key_replaced=on_key_replaced, flows=self.flows,
                               submitter=submitter, queue_depth=queue.depth_by_target)
        node_ready = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self.node.run(node_ready.set), name="node-agent"),
            asyncio.create_task(self._recorder.run(), name="recorder"),
        ]
        await node_ready.wait()
        # After the node is up: resuming re-issues the tasks that were in flight.
        self._flows_task = asyncio.create_task(self.flows.run(), name="flows")
        self._dispatch_task = asyncio.create_task(self.dispatcher.run(), name="dispatcher")
        for tenant in tenants:
            if not tenant.disabled:
                await self._pin_tenant(deployments, tenant.name)
        (data / "endpoint").write_text(self.config.url)

    async def _pin_tenant(self, deployments: Deployments, tenant: str) -> None:
        assert self.store is not None
        for summary in await self.store.list_functions(tenant):
            version = await self.store.latest_version(tenant, summary.name)
            self._pin(deployments, tenant, version)

    def _pin(self, deployments: Deployments, tenant: str, version: Version) -> None:
        """Keep `scale.min` instances of the latest version warm; older versions may idle out."""
        prefix = f"{tenant}/{version.function}@"
        for key, pool in self.node.pools.items():
            if key.startswith(prefix):
                pool.pinned = False
        if version.manifest.scale.min > 0:
            deployments.pool(tenant, version).pinned = True

    async def shutdown(self) -> None:
        """Stop instances and the zygote, flush records, close the store (uvicorn has already
        stopped accepting and waited for in-flight requests)."""
        if self.dispatcher is not None and self._dispatch_task is not None:
            # Before the node: async invocations in flight finish and their outcomes are
            # stored; jobs not yet finished keep their leases, which simply run out.
            self.dispatcher.stop()
            with contextlib.suppress(Exception):
                await self._dispatch_task
        if self.flows is not None and self._flows_task is not None:
            # Before the node: invocations in flight finish and their results are stored.
            self.flows.stop()
            with contextlib.suppress(Exception):
                await self._flows_task
        self.node.stop()
        if self._recorder is not None:
            self._recorder.stop()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await task
        await self.sandbox.stop()
        if self.queue is not None:
            await self.queue.close()
        if self.store is not None:
            await self.store.close()


async def _admin_key(store: Store, path: Path) -> tuple[str, str]:
    """The admin key in `path` and its id. The first start creates it, and so does a start
    that finds it revoked: whoever can read the data dir owns the installation anyway."""
    if path.exists():
        plaintext = path.read_text().strip()
        found = await store.lookup_api_key(plaintext)
        if found is not None and found.admin and found.active(time.time()):
            return plaintext, found.id
    made = await store.create_api_key(DEFAULT_TENANT, "admin", admin=True)
    _write_key(path, made.plaintext)
    return made.plaintext, made.key.id


def _write_key(path: Path, plaintext: str) -> None:
    """Mode 600 from the first byte, replaced atomically: a reader never sees half a key."""
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(plaintext + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
