"""The trigger manager: keeps each tenant's routes and event sources in step with the latest
version of every function.

Deploys and removals update the routes at once (a route works as soon as the deploy answers)
and mark the tenant for reconciling, which the manager's own loop does: sources whose
configuration changed stop, new ones start, unchanged ones keep running (and keep their
broker sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import aiomqtt

from yun.core import Clock, Manifest, ManifestError, NotFound, Version
from yun.core._triggers import trigger_to_dict
from yun.core.types import (
    CronTrigger,
    HttpTrigger,
    MqttTrigger,
    NatsTrigger,
    Trigger,
    WebhookTrigger,
)
from yun.events._cron import CronSource
from yun.events._mqtt import MqttSource, end_session
from yun.events._nats import NatsSource, Run
from yun.events._routes import RouteTable
from yun.queue import Submit
from yun.store import Store

log = logging.getLogger("yun.events")

RESTART = 5.0  # seconds before a source that failed unexpectedly starts again

_Key = tuple[object, ...]


class TriggerManager:
    def __init__(self, store: Store, submit: Submit, run: Run,
                 set_routes: Callable[[str, RouteTable], None], base_url: str,
                 clock: Clock | None = None) -> None:
        self.store = store
        self.submit = submit
        self.run_now = run
        self.set_routes = set_routes
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._functions: dict[str, dict[str, tuple[Trigger, ...]]] = {}
        self._disabled: set[str] = set()
        self._sources: dict[_Key, asyncio.Task[None]] = {}
        # The filters each (tenant, broker) session was last subscribed to: a new source
        # unsubscribes the ones no function wants any more.
        self._filters: dict[tuple[str, str], set[str]] = {}
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._stopping = False

    # -- what the platform tells us --------------------------------------------------------

    async def load(self) -> None:
        """Read every tenant's functions; the sources start when `run` does."""
        for tenant in await self.store.list_tenants():
            if tenant.disabled:
                self._disabled.add(tenant.name)
            functions = self._functions.setdefault(tenant.name, {})
            for summary in await self.store.list_functions(tenant.name):
                version = await self.store.latest_version(tenant.name, summary.name)
                functions[summary.name] = version.manifest.triggers
            self._routes(tenant.name)
            self._mark(tenant.name)

    def check(self, tenant: str, manifest: Manifest) -> None:
        """Before a deploy is stored: ManifestError if its routes clash with another
        function's (the message names both)."""
        RouteTable({**self._functions.get(tenant, {}), manifest.name: manifest.triggers})

    def deployed(self, tenant: str, version: Version) -> None:
        self._functions.setdefault(tenant, {})[version.function] = version.manifest.triggers
        self._routes(tenant)
        self._mark(tenant)

    def removed(self, tenant: str, function: str) -> None:
        self._functions.get(tenant, {}).pop(function, None)
        self._routes(tenant)
        self._mark(tenant)

    def tenant_changed(self, tenant: str, disabled: bool) -> None:
        """A disabled tenant's sources stop; its routes refuse through its keys."""
        if disabled:
            self._disabled.add(tenant)
        else:
            self._disabled.discard(tenant)
        self._mark(tenant)

    # -- listing ---------------------------------------------------------------------------

    async def describe(self, tenant: str, function: str | None = None) -> list[dict[str, object]]:
        """The tenant's triggers (one function's, if given: NotFound if it does not exist),
        each with its kind, options and, for http and webhook, its URL."""
        functions = self._functions.get(tenant, {})
        if function is not None and function not in functions:
            raise NotFound(f"function '{function}' does not exist")
        rows: list[dict[str, object]] = []
        for name in sorted(functions) if function is None else [function]:
            for index, trigger in enumerate(functions[name]):
                ((kind, options),) = trigger_to_dict(trigger).items()
                row: dict[str, object] = {"function": name, "index": index, "kind": kind,
                                          "options": options}
                if isinstance(trigger, HttpTrigger):
                    row["url"] = f"{self.base_url}/r/{tenant}{trigger.path}"
                elif isinstance(trigger, WebhookTrigger):
                    hook = await self.store.ensure_webhook(tenant, name, trigger.secret_env)
                    row["url"] = f"{self.base_url}/hook/{hook}"
                rows.append(row)
        return rows

    # -- running the sources ---------------------------------------------------------------

    async def run(self) -> None:
        """Reconcile marked tenants until `stop`; then stop every source."""
        try:
            while not self._stopping:
                await self._wake.wait()
                self._wake.clear()
                while self._dirty and not self._stopping:
                    tenant = self._dirty.pop()
                    try:
                        await self._reconcile(tenant)
                    except Exception:
                        log.exception("triggers of tenant %s: reconcile failed", tenant)
                        self._dirty.add(tenant)
                        await asyncio.sleep(RESTART)
        finally:
            await self._cancel(list(self._sources))

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def running(self, tenant: str) -> list[str]:
        """The kinds of the tenant's running sources, one per source."""
        return sorted(str(k[0]) for k in self._sources if k[1] == tenant)

    def _mark(self, tenant: str) -> None:
        self._dirty.add(tenant)
        self._wake.set()

    def _routes(self, tenant: str) -> None:
        try:
            self.set_routes(tenant, RouteTable(self._functions.get(tenant, {})))
        except ManifestError as exc:
            # Two deploys racing past `check` at once: the routes stay as they were, the
            # later deploy's routes do not serve until the clash is removed.
            log.error("routes of tenant %s not updated: %s", tenant, exc)

    async def _reconcile(self, tenant: str) -> None:
        wanted = {} if tenant in self._disabled else self._wanted(tenant)
        for name, triggers in self._functions.get(tenant, {}).items():
            for t in triggers:  # the URL exists before anyone lists it
                if isinstance(t, WebhookTrigger) and tenant not in self._disabled:
                    with contextlib.suppress(NotFound):
                        await self.store.ensure_webhook(tenant, name, t.secret_env)
        await self._cancel([k for k in self._sources if k[1] == tenant and k not in wanted])
        brokers = {str(k[2]) for k in wanted if k[0] == "mqtt"}
        for session in [s for s in self._filters if s[0] == tenant and s[1] not in brokers]:
            del self._filters[session]
            try:
                await asyncio.wait_for(end_session(*session), RESTART)
            except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
                log.warning("mqtt %s (tenant %s): could not end the session: %s", session[1],
                            tenant, exc)
        for key, make in wanted.items():
            if key not in self._sources:
                self._sources[key] = asyncio.create_task(self._guard(key, make),
                                                         name=f"trigger {key[0]} {tenant}")

    def _wanted(self, tenant: str) -> dict[_Key, Callable[[], Coroutine[Any, Any, None]]]:
        """The tenant's sources by identity, each with what starts it (called only for a
        source that is not running yet)."""
        wanted: dict[_Key, Callable[[], Coroutine[Any, Any, None]]] = {}
        mqtt: dict[str, list[tuple[str, MqttTrigger]]] = {}
        nats: dict[str, list[tuple[str, NatsTrigger]]] = {}
        for name, triggers in sorted(self._functions.get(tenant, {}).items()):
            for t in triggers:
                if isinstance(t, CronTrigger):
                    wanted[("cron", tenant, name, t)] = functools.partial(
                        self._cron, tenant, name, t)
                elif isinstance(t, MqttTrigger):
                    mqtt.setdefault(t.broker, []).append((name, t))
                elif isinstance(t, NatsTrigger):
                    nats.setdefault(t.url, []).append((name, t))
        for broker, subs in mqtt.items():
            wanted[("mqtt", tenant, broker, _frozen(subs))] = functools.partial(
                self._mqtt, tenant, broker, subs)
        for url, nsubs in nats.items():
            wanted[("nats", tenant, url, _frozen(nsubs))] = functools.partial(
                self._nats, tenant, url, nsubs)
        return wanted

    def _cron(self, tenant: str, function: str, trigger: CronTrigger) -> Coroutine[Any, Any, None]:
        return CronSource(self.store, self.submit, tenant, function, trigger,
                          clock=self.clock).run()

    def _nats(self, tenant: str, url: str,
              subs: list[tuple[str, NatsTrigger]]) -> Coroutine[Any, Any, None]:
        return NatsSource(self.submit, self.run_now, tenant, url, subs).run()

    def _mqtt(self, tenant: str, broker: str,
              subs: list[tuple[str, MqttTrigger]]) -> Coroutine[Any, Any, None]:
        previous = self._filters.get((tenant, broker), set())
        source = MqttSource(self.submit, tenant, broker, subs, forget=previous)
        self._filters[(tenant, broker)] = set(source.filters)
        return source.run()

    async def _guard(self, key: _Key, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Sources retry their own failures; this catches a bug escaping one, so it restarts
        instead of silently ending."""
        while True:
            try:
                await make()
                return
            except Exception:
                log.exception("trigger source %s of tenant %s failed; restarting", key[0],
                              key[1])
                await asyncio.sleep(RESTART)

    async def _cancel(self, keys: list[_Key]) -> None:
        tasks = [self._sources.pop(k) for k in keys]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _frozen(subs: list[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(subs, key=repr))

