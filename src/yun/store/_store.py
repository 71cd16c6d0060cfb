"""`Store`: the durable state of one Yun installation, behind one async API.

Every method is one transaction. Writers on SQLite take the write lock when they begin
(see `_engine`); on PostgreSQL they lock the rows they read before writing and retry when a
concurrent insert of the same key wins.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yun.core.errors import Conflict, InvalidRequest, PlatformError
from yun.core.types import ActivationRecord, Alias, Manifest, Version
from yun.store import (
    _activations,
    _aliases,
    _flows,
    _invocations,
    _keys,
    _migrate,
    _tenants,
    _triggers,
    _versions,
)
from yun.store._appender import SqliteAppender
from yun.store._batch import Batcher
from yun.store._engine import WRITE, create_engine
from yun.store._models import (
    ApiKey,
    DeadLetter,
    ExecutionWrite,
    Flow,
    FlowExecution,
    FlowTimer,
    FunctionSummary,
    Invocation,
    LogLine,
    NewApiKey,
    Tenant,
    TenantUsage,
)
from yun.store._versions import Admit

T = TypeVar("T")
Records = SqliteAppender[ActivationRecord, LogLine]
Op = Callable[[AsyncConnection], Awaitable[T]]

_ATTEMPTS = 5


class Store:
    """Tenants, and tenant-scoped access to keys, functions, versions, aliases, records,
    logs and flows: every method that takes a `tenant` sees only that tenant's rows.

    Open with `await Store.open(url)`; the schema is migrated to the newest revision first.
    Errors: `NotFound` and `InvalidRequest` as documented per method, `Conflict` when a write
    kept losing races, `PlatformError` when the database failed (retriable).
    """

    def __init__(self, engine: AsyncEngine, now: Callable[[], float]) -> None:
        self._engine = engine
        self._now = now
        self._name = engine.url.render_as_string(hide_password=True)
        # The async path's small per-job writes share transactions (see `_batch`).
        self._batch = Batcher(lambda: self._transaction(write=True))
        self._appender = _appender_for(engine)

    @classmethod
    async def open(cls, url: str, *, now: Callable[[], float] = time.time) -> Store:
        """Connect to `url` (e.g. `sqlite+aiosqlite:////var/lib/yun/yun.db` or
        `postgresql+asyncpg://...`), creating a SQLite file if needed, and migrate to head.
        `now` gives the wall-clock epoch seconds stamped on new rows."""
        store = cls(create_engine(url), now)
        try:
            await store._write(lambda conn: conn.run_sync(_migrate.upgrade), attempts=1)
        except BaseException:
            await store.close()
            raise
        return store

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def batcher(self) -> Batcher:
        """Group commit of the store's small writes; the embedded queue joins it, so the two
        never wait on each other's SQLite write lock."""
        return self._batch

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- transactions ---------------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                if write:
                    conn = await conn.execution_options(**{WRITE: True})
                async with conn.begin():
                    yield conn
        except sa.exc.IntegrityError:
            raise  # `_write` decides: retry, or Conflict
        except sa.exc.DBAPIError as e:
            raise PlatformError(f"store {self._name} failed: {e.orig}") from e

    async def _read(self, op: Op[T]) -> T:
        async with self._transaction(write=False) as conn:
            return await op(conn)

    async def _write(self, op: Op[T], *, attempts: int = _ATTEMPTS) -> T:
        for attempt in range(1, attempts + 1):
            try:
                async with self._transaction(write=True) as conn:
                    return await op(conn)
            except sa.exc.IntegrityError as e:
                # A concurrent transaction inserted the same key first (PostgreSQL lets
                # both read "absent"). Retrying reads the winner's row and goes on from it.
                if attempt == attempts:
                    raise Conflict(f"store write kept conflicting: {e.orig}") from e
        raise AssertionError("unreachable: attempts must be at least 1")

    # -- tenants --------------------------------------------------------------------------

    async def create_tenant(self, name: str, quotas: Mapping[str, float] | None = None) -> Tenant:
        """A new tenant with the next uid (never one handed out before). `quotas` are
        overrides of the defaults, stored as given (the caller validates them).
        InvalidRequest for a bad name, Conflict if it exists."""
        now = self._now()
        return await self._write(lambda c: _tenants.create(c, name, quotas or {}, now))

    async def get_tenant(self, name: str) -> Tenant:
        return await self._read(lambda c: _tenants.require(c, name))

    async def list_tenants(self) -> list[Tenant]:
        """Sorted by name."""
        return await self._read(_tenants.list_all)

    async def update_tenant(
        self,
        name: str,
        *,
        disabled: bool | None = None,
        quotas: Mapping[str, float | None] | None = None,
    ) -> Tenant:
        """Set the disabled flag and merge quota overrides (a None value drops the override).
        The default tenant cannot be disabled: it holds the admin keys."""
        return await self._write(lambda c: _tenants.update(c, name, disabled, quotas))

    async def tenant_usage(self, name: str) -> TenantUsage:
        """Functions and stored code bytes of one tenant (0s for an unknown name)."""
        return await self._read(lambda c: _tenants.usage(c, name))

    # -- API keys -------------------------------------------------------------------------

    async def create_api_key(self, tenant: str, name: str, admin: bool) -> NewApiKey:
        """Store a new key's hash; the plaintext returned cannot be recovered later.
        NotFound if the tenant does not exist."""
        now = self._now()
        return await self._write(lambda c: _keys.create(c, tenant, name, admin, now))

    async def lookup_api_key(self, plaintext: str) -> ApiKey | None:
        """The key with this plaintext, revoked or not (see `ApiKey.active`); None if unknown."""
        return await self._read(lambda c: _keys.lookup(c, plaintext))

    async def list_api_keys(self, tenant: str, *, with_admin: bool = False) -> list[ApiKey]:
        """The tenant's active keys, oldest first; admin keys only if `with_admin`."""
        now = self._now()
        return await self._read(lambda c: _keys.list_keys(c, tenant, with_admin, now))

    async def revoke_api_key(
        self, key_id: str, *, tenant: str | None, with_admin: bool = False
    ) -> ApiKey:
        """Stop the key now. Only an active key of `tenant` (any tenant if None), and an
        admin key only `with_admin`, is found; any other id is NotFound, in the same words."""
        now = self._now()
        return await self._write(lambda c: _keys.revoke(c, key_id, tenant, with_admin, now))

    async def rotate_api_key(
        self, key_id: str, *, tenant: str | None, with_admin: bool = False, grace: float = 0.0
    ) -> tuple[NewApiKey, ApiKey]:
        """A new key with the old one's tenant, name and admin flag; the old key stops after
        `grace` seconds (0: now; at most a week). Found as `revoke_api_key` finds keys."""
        now = self._now()
        return await self._write(
            lambda c: _keys.rotate(c, key_id, tenant, with_admin, grace, now)
        )

    async def count_api_keys(self) -> int:
        """Keys of all tenants, revoked ones too (0: the installation is not bootstrapped)."""
        return await self._read(_keys.count)

    # -- functions and versions -----------------------------------------------------------

    async def create_version(
        self,
        tenant: str,
        manifest: Manifest,
        code_hash: str,
        layer_hash: str | None,
        code_size: int,
        admit: Admit | None = None,
    ) -> tuple[Version, bool]:
        """Deploy `manifest.name`: the next version number (1 for a new function), and True.
        If the latest version has the same code, layer and manifest, return it and False.
        Before a new version is written, `admit(tenant, usage_after)` may refuse it by
        raising; deploys of one tenant take turns, so the usage it sees is exact.
        NotFound if the tenant does not exist."""
        now = self._now()
        return await self._write(
            lambda c: _versions.create_version(
                c, tenant, manifest, code_hash, layer_hash, code_size, now, admit
            )
        )

    async def get_version(self, tenant: str, function: str, number: int) -> Version:
        return await self._read(lambda c: _versions.get_version(c, tenant, function, number))

    async def latest_version(self, tenant: str, function: str) -> Version:
        return await self._read(lambda c: _versions.latest_version(c, tenant, function))

    async def list_functions(self, tenant: str) -> list[FunctionSummary]:
        """Sorted by name."""
        return await self._read(lambda c: _versions.list_functions(c, tenant))

    async def list_versions(self, tenant: str, function: str) -> list[Version]:
        """Ascending by number."""
        return await self._read(lambda c: _versions.list_versions(c, tenant, function))

    async def delete_function(self, tenant: str, function: str) -> None:
        """Remove the function, its versions and aliases; activation records and logs stay."""
        await self._write(lambda c: _versions.delete_function(c, tenant, function))

    # -- trigger state --------------------------------------------------------------------

    async def last_cron_tick(self, tenant: str, function: str, schedule: str) -> float | None:
        """The scheduled time (epoch s) of the last tick fired for `schedule`, or None."""
        return await self._read(lambda c: _triggers.last_tick(c, tenant, function, schedule))

    async def set_cron_tick(self, tenant: str, function: str, schedule: str,
                            tick: float) -> None:
        """Record `tick` as fired (never moving back). NotFound if the function is gone."""
        await self._write(lambda c: _triggers.set_tick(c, tenant, function, schedule, tick))

    async def ensure_webhook(self, tenant: str, function: str, secret_env: str) -> str:
        """The id in the webhook trigger's URL, stable across deploys of the function."""
        now = self._now()
        return await self._write(
            lambda c: _triggers.ensure_webhook(c, tenant, function, secret_env, now))

    async def find_webhook(self, hook: str) -> tuple[str, str, str] | None:
        """(tenant, function, secret_env) of a webhook id, or None if there is none."""
        return await self._read(lambda c: _triggers.find_webhook(c, hook))

    # -- aliases --------------------------------------------------------------------------

    async def set_alias(self, tenant: str, alias: Alias) -> Alias:
        """Create or replace. Every version named must exist; weights are 1..99 % each,
        name versions other than `alias.version`, and sum to less than 100."""
        return await self._write(lambda c: _aliases.set_alias(c, tenant, alias))

    async def get_alias(self, tenant: str, function: str, name: str) -> Alias:
        return await self._read(lambda c: _aliases.get_alias(c, tenant, function, name))

    async def list_aliases(self, tenant: str, function: str) -> list[Alias]:
        """Sorted by name."""
        return await self._read(lambda c: _aliases.list_aliases(c, tenant, function))

    async def delete_alias(self, tenant: str, function: str, name: str) -> None:
        await self._write(lambda c: _aliases.delete_alias(c, tenant, function, name))

    # -- activation records and logs ------------------------------------------------------

    async def add_activations(
        self, records: Sequence[ActivationRecord], logs: Sequence[LogLine]
    ) -> None:
        """Store a batch in one transaction (group commit: one fsync for many invocations).
        A record id already stored fails the whole batch with `Conflict`."""
        if self._appender is not None:
            await self._appender.add(records, logs)
            return
        await self._write(lambda c: _activations.add(c, records, logs), attempts=1)

    async def list_activations(
        self, tenant: str, function: str | None = None, limit: int = 20
    ) -> list[ActivationRecord]:
        """Newest first."""
        return await self._read(lambda c: _activations.list_activations(c, tenant, function, limit))

    async def get_activation(self, tenant: str, activation_id: str) -> ActivationRecord:
        return await self._read(lambda c: _activations.get_activation(c, tenant, activation_id))

    async def list_logs(
        self,
        tenant: str,
        function: str | None,
        after: int = 0,
        limit: int = 200,
        activation_id: str | None = None,
    ) -> list[LogLine]:
        """Lines with `seq > after`, ascending; page on with the last line's `seq`."""
        return await self._read(
            lambda c: _activations.list_logs(c, tenant, function, after, limit, activation_id)
        )

    # -- flows ----------------------------------------------------------------------------

    async def put_flow(
        self, tenant: str, name: str, definition: dict[str, Any]
    ) -> tuple[Flow, bool]:
        """Deploy a (validated) definition: a new version and True, or the latest version and
        False when it is unchanged. NotFound if the tenant does not exist."""
        now = self._now()
        return await self._write(lambda c: _flows.put_flow(c, tenant, name, definition, now))

    async def get_flow(self, tenant: str, name: str, version: int | None = None) -> Flow:
        """The latest version, or the one numbered `version`."""
        return await self._read(lambda c: _flows.get_flow(c, tenant, name, version))

    async def list_flows(self, tenant: str) -> list[Flow]:
        """Sorted by name, each with its latest definition."""
        return await self._read(lambda c: _flows.list_flows(c, tenant))

    async def delete_flow(self, tenant: str, name: str) -> None:
        """Remove the flow, its versions and its executions with their history. Conflict
        while an execution of it is running."""
        await self._write(lambda c: _flows.delete_flow(c, tenant, name))

    async def start_execution(
        self,
        tenant: str,
        flow: str,
        flow_version: int,
        name: str,
        input: Any,
        first: ExecutionWrite,
    ) -> tuple[FlowExecution, bool]:
        """Store a new execution together with its first step (`first`), and True; if the
        name is taken in this flow, the existing execution and False (nothing written).
        NotFound if the flow is gone."""
        now = self._now()
        return await self._write(
            lambda c: _flows.start_execution(
                c, tenant, flow, flow_version, name, input, first, now
            )
        )

    async def find_execution(
        self, tenant: str, flow: str, name: str, *, with_state: bool = False
    ) -> FlowExecution | None:
        return await self._read(
            lambda c: _flows.find_execution(c, tenant, flow, name, with_state=with_state)
        )

    async def get_execution(
        self, tenant: str, flow: str, name: str, *, with_state: bool = False
    ) -> FlowExecution:
        """NotFound (naming `FLOW:NAME`) if there is none."""
        return await self._read(
            lambda c: _flows.get_execution(c, tenant, flow, name, with_state=with_state)
        )

    async def execution_by_uid(self, uid: str) -> FlowExecution | None:
        """Any tenant's execution, with its state: for the runner, never for API callers."""
        return await self._read(lambda c: _flows.execution_by_uid(c, uid))

    async def list_executions(
        self, tenant: str, flow: str, limit: int = 50
    ) -> list[FlowExecution]:
        """Newest first. NotFound if the flow does not exist."""
        if limit < 1:
            raise InvalidRequest(f"limit must be at least 1, was: {limit}")
        return await self._read(lambda c: _flows.list_executions(c, tenant, flow, limit))

    async def execution_history(
        self, tenant: str, flow: str, name: str, after: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """History events (Step Functions' shape) with `id > after`, ascending."""
        if limit < 1:
            raise InvalidRequest(f"limit must be at least 1, was: {limit}")
        return await self._read(lambda c: _flows.history(c, tenant, flow, name, after, limit))

    async def commit_steps(self, writes: Sequence[ExecutionWrite]) -> None:
        """Persist steps of one or more executions in ONE transaction (group commit): each
        execution's new value, its history rows and its timer changes, all or nothing."""
        now = self._now()
        await self._write(lambda c: _flows.commit(c, writes, now), attempts=1)

    async def unfinished_executions(
        self, after_uid: str = "", limit: int = 100
    ) -> list[FlowExecution]:
        """Every tenant's executions that have not ended, with their state, by uid."""
        return await self._read(lambda c: _flows.unfinished(c, after_uid, limit))

    async def next_flow_timer(self) -> float | None:
        """Epoch seconds of the earliest timer, or None."""
        return await self._read(_flows.next_timer)

    async def due_flow_timers(self, until: float, limit: int = 500) -> list[FlowTimer]:
        """Timers due at `until` (epoch seconds) or before, earliest first."""
        return await self._read(lambda c: _flows.due_timers(c, until, limit))

    async def delete_flow_timers(self, uid: str, tokens: Sequence[str]) -> None:
        """Drop timers of an execution that no longer waits for them (it has ended)."""
        await self._write(lambda c: _flows.delete_timers(c, uid, tokens))

    # -- async invocations and dead letters -------------------------------------------------

    async def invocation_queued(self, id: str, tenant: str, target: str, source: str) -> None:
        """Record an accepted async invocation (kept as it is if already recorded)."""
        now = self._now()
        await self._batch.run(lambda c: _invocations.queued(c, id, tenant, target, source, now))

    async def begin_attempt(self, id: str, tenant: str, target: str, source: str) -> Invocation:
        """Mark it running and count the attempt; the row is made if the submitter died
        between queueing the job and recording it."""
        now = self._now()
        return await self._batch.run(
            lambda c: _invocations.begin_attempt(c, id, tenant, target, source, now))

    async def attempt_throttled(self, id: str) -> None:
        """Un-count an attempt that was refused (quota, full buffers) before it ran."""
        now = self._now()
        await self._batch.run(lambda c: _invocations.throttled(c, id, now))

    async def attempt_failed(self, id: str, error: dict[str, Any], status: str) -> Invocation:
        """Append the attempt's error and set the status ("failed": a retry is scheduled)."""
        now = self._now()
        return await self._batch.run(lambda c: _invocations.failed(c, id, error, status, now))

    async def invocation_succeeded(self, id: str, result: bytes) -> None:
        now = self._now()
        await self._batch.run(lambda c: _invocations.succeeded(c, id, result, now))

    async def invocation_dead(self, letter: DeadLetter) -> None:
        """Status `dead` and the dead letter, together."""
        await self._write(lambda c: _invocations.dead(c, letter))

    async def get_invocation(self, tenant: str, id: str) -> Invocation:
        return await self._read(lambda c: _invocations.get(c, tenant, id))

    async def list_dead_letters(self, tenant: str, limit: int = 50) -> list[DeadLetter]:
        """Newest first."""
        return await self._read(lambda c: _invocations.list_dead(c, tenant, limit))

    async def get_dead_letter(self, tenant: str, id: str) -> DeadLetter:
        return await self._read(lambda c: _invocations.get_dead(c, tenant, id))

    async def requeue_dead_letter(self, tenant: str, id: str) -> DeadLetter:
        """Reset the invocation to queued with no attempts and return its letter (NotFound
        if none); put the job back, then `drop_dead_letter` it."""
        now = self._now()
        return await self._write(lambda c: _invocations.requeued(c, tenant, id, now))

    async def drop_dead_letter(self, letter: DeadLetter) -> None:
        await self._write(lambda c: _invocations.drop_letter(c, letter))

    async def purge_dead_letters(self, tenant: str, id: str | None = None) -> int:
        """Delete one letter (NotFound if absent) or all of the tenant's; how many went."""
        return await self._write(lambda c: _invocations.purge(c, tenant, id))


def _appender_for(engine: AsyncEngine) -> Records | None:
    """A SQLite file gets the records' own connection; in-memory and URI databases (which a
    second connection would not share) and other backends go through the engine."""
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:") or url.query.get("uri"):
        return None
    return Records(database, _activations.write_sqlite)
