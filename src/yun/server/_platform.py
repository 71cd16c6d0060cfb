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
from yun.core import Status, Version
from yun.core.errors import RateLimited
from yun.events import BucketSource, TriggerManager
from yun.flows import Runner, RunnerConfig
from yun.gateway import (
    ROUTES_PREFIX,
    WEBHOOKS_PREFIX,
    Deployments,
    InvokeApp,
    KeyCache,
    QuotaBook,
    Resolver,
    RouteApp,
    WebhookApp,
)
from yun.metering import Recorder
from yun.node import Admission, NodeAgent
from yun.queue import DispatchConfig, Dispatcher, Queue, Submit, Submitter, open_queue
from yun.sandbox import ProcessSandbox
from yun.server._config import Config
from yun.server._host import HostOps
from yun.storage import (
    Buckets,
    CodeStore,
    LayerStore,
    LocalBuckets,
    ObjectEvent,
    ResultWriter,
    S3Buckets,
    parse_bucket_destination,
)
from yun.store import DEFAULT_TENANT as DEFAULT_TENANT  # re-exported for `_run`
from yun.store import ApiKey, NewApiKey, Store, Tenant

log = logging.getLogger("yun")


class Platform:
    """Owns every long-lived part; `lifespan` starts and stops them in order."""

    def __init__(self, config: Config) -> None:
        self.config = config
        data = config.data_dir
        self.sandbox = ProcessSandbox(data / "logs" / "sandbox.log", namespaces=config.namespaces,
                                      blanks=config.blanks, walls_off=config.walls)
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
        self.routes: RouteApp | None = None
        self._webhooks: WebhookApp | None = None
        self.triggers: TriggerManager | None = None
        self._triggers_task: asyncio.Task[None] | None = None
        self.buckets: Buckets | None = None
        self.bucket_source: BucketSource | None = None

    def _instance_quota(self, tenant: str, memory_mb: int, running: int,
                        running_memory_mb: int) -> RateLimited | None:
        refusal = self.quotas.check_instance_start(tenant, memory_mb, running, running_memory_mb)
        if refusal is None:
            return None
        return RateLimited(refusal.message, refusal.quota, refusal.limit, refusal.value,
                           refusal.retry_after or 1.0)

    @property
    def invoke_app(self) -> InvokeApp | None:
        """`POST /fn/…` once started (the gateway protocol's fast path serves through it)."""
        return self._invoke

    def start_sandbox(self) -> None:
        """Before the event loop: the zygote forks from a small, quiet process."""
        self.sandbox.start()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"].startswith("/fn/"):
            assert self._invoke is not None
            await self._invoke(scope, receive, send)
        elif scope["type"] == "http" and scope["path"].startswith(ROUTES_PREFIX):
            assert self.routes is not None
            await self.routes(scope, receive, send)
        elif scope["type"] == "http" and scope["path"].startswith(WEBHOOKS_PREFIX):
            assert self._webhooks is not None
            await self._webhooks(scope, receive, send)
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
        # Handlers reach their tenant's functions (and buckets) through host calls.
        self.host = self.node.host = HostOps(self._invoke)
        # Flows invoke functions through the same path as HTTP callers (quotas, records).
        self.flows = Runner(store, self._invoke, config=self.flows_config,
                            tenant_active=keys.active_tenant)
        self.queue = queue = await open_queue(self.config.queue_url, store)
        submitter = Submitter(queue, store, max_queued=self.config.async_max_queued)
        self.submit = self._invoke.submit = submitter
        self.host.serve_async(submitter)

        async def deliver(tenant: str, target: str, record: bytes, dedupe_key: str,
                          depth: int) -> None:
            # on_success / on_failure → a bucket (yun://BUCKET/PREFIX) as one JSON object
            # named after the invocation and condition, or another function (async path).
            bucket = parse_bucket_destination(target)
            if bucket is not None and self.buckets is not None:
                name, prefix = bucket
                key = f"{prefix}{dedupe_key.replace(':', '-')}.json"
                await ResultWriter(self.buckets).write_result(tenant, name, key, record)
                return
            await submitter(tenant, target, record, "destination", dedupe_key, depth)

        self.dispatcher = Dispatcher(
            queue, store, self._invoke, resolver.resolve, deliver, keys.active_tenant,
            DispatchConfig(max_in_flight=self.config.async_in_flight))
        submitter.on_put = self.dispatcher.wake

        self.routes = RouteApp(keys, self._invoke)
        invoker = self._invoke

        async def run_now(tenant: str, target: str, body: bytes) -> bool:
            # JetStream triggers: acked only when the invocation succeeded.
            return (await invoker.invoke(tenant, target, body)).outcome.status == Status.SUCCESS

        self.triggers = triggers = TriggerManager(store, submitter, run_now,
                                                  self.routes.set_routes, self.config.url)
        await triggers.load()
        self._webhooks = WebhookApp(store, keys, resolver, submitter)
        # Object events → functions' bucket triggers → the async path.
        self.bucket_source = bucket_source = BucketSource(submitter)

        def on_deployed(tenant: str, version: Version) -> None:
            resolver.invalidate(tenant, version.function)
            self._pin(deployments, tenant, version)
            triggers.deployed(tenant, version)
            bucket_source.subscribe(tenant, version.function, version.manifest.triggers)
            if version.manifest.network.value == "egress":
                self.sandbox.expect_egress()

        def on_changed(tenant: str, name: str) -> None:
            resolver.invalidate(tenant, name)

        def on_removed(tenant: str, name: str) -> None:
            resolver.invalidate(tenant, name)
            bucket_source.unsubscribe(tenant, name)
            self.node.drop(f"{tenant}/{name}@")
            triggers.removed(tenant, name)

        async def on_tenant_changed(tenant: Tenant) -> None:
            triggers.tenant_changed(tenant.name, tenant.disabled)
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
                                 quotas=self.quotas, check=triggers.check)

        def node_status(tenant: str) -> list[dict[str, object]]:
            return [pool.view() for pool in self.node.status(tenant)]

        self.buckets = await self._open_buckets()
        self.host.serve_buckets(self.buckets)
        self._api = create_api(store, keys, self.deployer, on_changed, on_removed, node_status,
                               quotas=self.quotas, on_tenant_changed=on_tenant_changed,
                               on_key_replaced=on_key_replaced, flows=self.flows,
                               submitter=submitter, queue_depth=queue.depth_by_target,
                               triggers=triggers.describe, buckets=self.buckets,
                               bucket_source=bucket_source,
                               max_object_bytes=self.config.max_object_bytes)
        node_ready = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self.node.run(node_ready.set), name="node-agent"),
            asyncio.create_task(self._recorder.run(), name="recorder"),
        ]
        await node_ready.wait()
        # After the node is up: resuming re-issues the tasks that were in flight.
        self._flows_task = asyncio.create_task(self.flows.run(), name="flows")
        self._dispatch_task = asyncio.create_task(self.dispatcher.run(), name="dispatcher")
        self._triggers_task = asyncio.create_task(triggers.run(), name="triggers")
        for tenant in tenants:
            if not tenant.disabled:
                await self._pin_tenant(deployments, tenant.name)
        (data / "endpoint").write_text(self.config.url)

    async def _open_buckets(self) -> Buckets:
        """A folder in the data dir (whose writes emit object events directly), or the
        S3-compatible store `buckets_url` names (whose events come by its webhook)."""
        if not self.config.buckets_url:
            source = self.bucket_source

            async def emit(event: ObjectEvent) -> None:
                if source is not None:
                    await source.deliver(event)

            return LocalBuckets(self.config.data_dir / "buckets", on_event=emit)
        s3 = S3Buckets.from_url(self.config.buckets_url, os.environ)
        await s3.open()
        return s3

    async def _pin_tenant(self, deployments: Deployments, tenant: str) -> None:
        assert self.store is not None
        for summary in await self.store.list_functions(tenant):
            version = await self.store.latest_version(tenant, summary.name)
            self._pin(deployments, tenant, version)
            if self.bucket_source is not None:
                self.bucket_source.subscribe(tenant, version.function, version.manifest.triggers)

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
        if self.triggers is not None and self._triggers_task is not None:
            # First: no new events are submitted while the async path drains.
            self.triggers.stop()
            with contextlib.suppress(Exception):
                await self._triggers_task
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
        if self.buckets is not None:
            await self.buckets.close()
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
