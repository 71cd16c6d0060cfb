"""The dispatcher's decisions that end a job without running it, on a real SQLite store and
queue: events older than `async.max_age`, functions deleted since, and jobs delivered again
after their outcome was stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from yun.core import AsyncSpec, Manifest, Status, Version
from yun.gateway import Resolver
from yun.node import Outcome
from yun.queue import Dispatcher, Job, SqlQueue
from yun.store import Store


class NeverInvoked:
    async def invoke(self, tenant: str, target: str, body: bytes,
                     request_id: str | None = None, depth: int = 0) -> object:
        raise AssertionError(f"{target} must not run")


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Store, SqlQueue]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}"
    store = await Store.open(url)
    manifest = Manifest(name="fn", handler="main:handle", async_=AsyncSpec(on_success="sink"))
    await store.create_version("default", manifest, "c0de", None, 1)
    queue = SqlQueue.open(url)
    yield store, queue
    await queue.close()
    await store.close()


async def _dispatch_until_acked(store: Store, queue: SqlQueue, job: Job,
                                invoker: object | None = None,
                                resolve: Callable[[str, str], Awaitable[Version]] | None = None,
                                ) -> list[tuple[str, str]]:
    """Run a dispatcher until the job left the queue; the destination records it sent."""
    delivered: list[tuple[str, str]] = []

    async def deliver(tenant: str, target: str, record: bytes, key: str, depth: int) -> None:
        delivered.append((target, key))

    async def active(tenant: str) -> object:
        return tenant

    await queue.put(job)
    await store.invocation_queued(job.id, job.tenant, job.target, job.source)
    dispatcher = Dispatcher(queue, store, invoker or NeverInvoked(),  # type: ignore[arg-type]
                            resolve or Resolver(store).resolve, deliver, active)
    runner = asyncio.create_task(dispatcher.run())
    deadline = time.monotonic() + 5
    while await queue.depth():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    dispatcher.stop()
    await runner
    return delivered


async def _dead_after_dispatch(store: Store, queue: SqlQueue, job: Job) -> dict[str, object]:
    await _dispatch_until_acked(store, queue, job)
    assert (await store.get_invocation("default", job.id)).status == "dead"
    letter = await store.get_dead_letter("default", job.id)
    return {"errors": letter.errors, "body": letter.body}


async def test_an_event_older_than_max_age_is_a_dead_letter_without_running(
        parts: tuple[Store, SqlQueue]) -> None:
    store, queue = parts
    job = Job(id="old1", tenant="default", target="fn", body=b'{"a": 1}', source="cron",
              enqueued_at=time.time() - 6 * 3600 - 5)
    dead = await _dead_after_dispatch(store, queue, job)
    assert [e["type"] for e in dead["errors"]] == ["MaxAgeExceeded"]  # type: ignore[attr-defined]
    assert dead["body"] == b'{"a": 1}'


async def test_a_job_of_a_deleted_function_is_a_dead_letter_at_once(
        parts: tuple[Store, SqlQueue]) -> None:
    store, queue = parts
    await store.delete_function("default", "fn")
    job = Job(id="gone1", tenant="default", target="fn", body=b"{}", source="api",
              enqueued_at=time.time())
    dead = await _dead_after_dispatch(store, queue, job)
    assert [e["type"] for e in dead["errors"]] == ["NotFound"]  # type: ignore[attr-defined]


async def test_a_job_back_after_its_outcome_was_stored_only_resends_the_destination(
        parts: tuple[Store, SqlQueue]) -> None:
    store, queue = parts
    job = Job(id="done1", tenant="default", target="fn", body=b"{}", source="api",
              enqueued_at=time.time())
    # The first dispatcher stored the outcome, then died before the destination and the ack.
    await store.begin_attempt(job.id, job.tenant, job.target, job.source)
    await store.invocation_succeeded(job.id, b'{"ok": 1}')
    delivered = await _dispatch_until_acked(store, queue, job)
    assert delivered == [("sink", "done1:Success")]
    row = await store.get_invocation("default", job.id)
    assert (row.status, row.attempts) == ("succeeded", 1)


async def test_a_disabled_tenants_jobs_wait_without_running_or_dying(
        parts: tuple[Store, SqlQueue]) -> None:
    store, queue = parts
    job = Job(id="wait1", tenant="default", target="fn", body=b"{}", source="api",
              enqueued_at=time.time())
    await queue.put(job)

    async def disabled(tenant: str) -> object:
        return None

    async def deliver(tenant: str, target: str, record: bytes, key: str, depth: int) -> None:
        raise AssertionError("nothing ended")

    dispatcher = Dispatcher(queue, store, NeverInvoked(), Resolver(store).resolve,  # type: ignore[arg-type]
                            deliver, disabled)
    runner = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0.5)
    dispatcher.stop()
    await runner
    assert await queue.depth() == 1
    assert await queue.take(1, 10) == []  # held back for the disabled delay, not taken


async def test_the_version_resolved_for_the_async_settings_is_the_one_that_runs(
        parts: tuple[Store, SqlQueue]) -> None:
    # An alias split picks a version per resolve: a second resolve in the invoke path could
    # run another version than the one whose retries and destinations apply.
    store, queue = parts
    resolver = Resolver(store)
    resolved: list[object] = []

    async def resolve(tenant: str, target: str) -> Version:
        version = await resolver.resolve(tenant, target)
        resolved.append(version)
        return version

    ran: list[object] = []

    class Recording:
        async def invoke(self, tenant: str, target: str, body: bytes,
                         request_id: str | None = None, depth: int = 0,
                         version: Version | None = None) -> object:
            ran.append(version)
            done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            done.set_result(True)
            return SimpleNamespace(request_id=request_id, recorded=done,
                                   outcome=Outcome(Status.SUCCESS, b'{"ok": 1}'))

    job = Job(id="same1", tenant="default", target="fn", body=b"{}", source="api",
              enqueued_at=time.time())
    await _dispatch_until_acked(store, queue, job, Recording(), resolve)
    assert len(resolved) == 1 and ran == resolved
    assert (await store.get_invocation("default", job.id)).status == "succeeded"
