"""Async invocations' status rows and dead letters, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from yun.core import NotFound
from yun.store import DeadLetter, Store


def error(attempt: int) -> dict[str, object]:
    return {"attempt": attempt, "status": "error", "type": "ValueError", "message": "no",
            "at": 1.0, "activation_id": f"i1-{attempt}"}


def letter(store_errors: list[dict[str, object]], dead_at: float = 5.0) -> DeadLetter:
    return DeadLetter(id="i1", tenant="default", target="fn", source="api", body=b'{"a": 1}',
                      errors=store_errors, enqueued_at=1.0, dead_at=dead_at)


async def test_attempts_are_counted_throttles_are_not_and_errors_accumulate(
        store: Store) -> None:
    await store.invocation_queued("i1", "default", "fn", "api")
    await store.invocation_queued("i1", "default", "other", "cron")  # kept as first written
    first = await store.begin_attempt("i1", "default", "fn", "api")
    assert (first.status, first.attempts, first.target) == ("running", 1, "fn")
    await store.attempt_throttled("i1")
    assert (await store.get_invocation("default", "i1")).attempts == 0
    await store.begin_attempt("i1", "default", "fn", "api")
    failed = await store.attempt_failed("i1", error(1), "failed")
    assert (failed.status, failed.errors) == ("failed", [error(1)])
    await store.begin_attempt("i1", "default", "fn", "api")
    await store.invocation_succeeded("i1", b'{"ok": true}')
    done = await store.get_invocation("default", "i1")
    assert (done.status, done.attempts, done.result) == ("succeeded", 2, b'{"ok": true}')
    again = await store.begin_attempt("i1", "default", "fn", "api")  # a late re-delivery
    assert (again.status, again.attempts) == ("succeeded", 2)


async def test_begin_attempt_makes_the_row_a_crashed_submitter_did_not(store: Store) -> None:
    row = await store.begin_attempt("i9", "default", "fn", "api")
    assert (row.status, row.attempts, row.errors) == ("running", 1, [])


async def test_a_dead_invocation_has_its_letter_and_redrive_starts_it_over(
        store: Store) -> None:
    await store.begin_attempt("i1", "default", "fn", "api")
    await store.invocation_dead(letter([error(1)]))
    assert (await store.get_invocation("default", "i1")).status == "dead"
    assert await store.list_dead_letters("default") == [letter([error(1)])]
    requeued = await store.requeue_dead_letter("default", "i1")
    row = await store.get_invocation("default", "i1")
    assert (row.status, row.attempts, row.errors) == ("queued", 0, [error(1)])
    # It died again before the redrive dropped the old letter: the new letter stays.
    await store.invocation_dead(letter([error(1), error(2)], dead_at=9.0))
    await store.drop_dead_letter(requeued)
    assert [x.dead_at for x in await store.list_dead_letters("default")] == [9.0]


async def test_another_tenants_invocations_and_letters_are_not_found(store: Store) -> None:
    await store.begin_attempt("i1", "default", "fn", "api")
    await store.invocation_dead(letter([error(1)]))
    await store.create_tenant("acme")
    for call in (store.get_invocation("acme", "i1"), store.get_dead_letter("acme", "i1"),
                 store.requeue_dead_letter("acme", "i1"), store.purge_dead_letters("acme", "i1")):
        with pytest.raises(NotFound):
            await call
    assert await store.purge_dead_letters("acme") == 0
    assert await store.purge_dead_letters("default") == 1
    assert await store.list_dead_letters("default") == []
