"""Trigger state in the store: cron ticks move only forward; webhook ids are stable."""

from __future__ import annotations

import pytest

from yun.core import Manifest, NotFound
from yun.store import Store

MANIFEST = Manifest(name="report", handler="main:handle")


async def test_a_cron_tick_is_remembered_and_never_moves_back(store: Store) -> None:
    await store.create_version("default", MANIFEST, "c1", None, 10)
    assert await store.last_cron_tick("default", "report", "*/5 * * * * UTC") is None
    await store.set_cron_tick("default", "report", "*/5 * * * * UTC", 600.0)
    await store.set_cron_tick("default", "report", "*/5 * * * * UTC", 300.0)
    assert await store.last_cron_tick("default", "report", "*/5 * * * * UTC") == 600.0
    assert await store.last_cron_tick("default", "report", "0 * * * * UTC") is None


async def test_cron_ticks_and_webhooks_go_with_their_function(store: Store) -> None:
    await store.create_version("default", MANIFEST, "c1", None, 10)
    await store.set_cron_tick("default", "report", "s", 1.0)
    hook = await store.ensure_webhook("default", "report", "SECRET")
    await store.delete_function("default", "report")
    await store.create_version("default", MANIFEST, "c1", None, 10)
    assert await store.last_cron_tick("default", "report", "s") is None
    assert await store.find_webhook(hook) is None


async def test_a_webhook_id_is_stable_and_unguessable(store: Store) -> None:
    await store.create_version("default", MANIFEST, "c1", None, 10)
    hook = await store.ensure_webhook("default", "report", "SECRET")
    assert await store.ensure_webhook("default", "report", "SECRET") == hook
    assert len(hook) >= 32
    assert await store.find_webhook(hook) == ("default", "report", "SECRET")
    assert await store.find_webhook("nope") is None


async def test_trigger_state_needs_the_function(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.set_cron_tick("default", "ghost", "s", 1.0)
    with pytest.raises(NotFound):
        await store.ensure_webhook("default", "ghost", "SECRET")
