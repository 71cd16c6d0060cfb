"""Activation records stored in pages, on every backend: reads across many pages, tenants
kept apart, and the migration that moved a row per record into pages."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from yun.core.errors import Conflict, NotFound
from yun.core.types import ActivationRecord, Status
from yun.store import Store, _activations
from yun.store._engine import create_engine
from yun.store._migrate import alembic_config

RECORD = ActivationRecord(
    id="a", function="hello", version=1, tenant="default", start=100.0, end=100.5,
    duration_ms=500.0, init_ms=0.0, wait_ms=1.5, memory_mb=128, max_rss_mb=40.2,
    status=Status.SUCCESS, billed_ms=500, gb_seconds=0.0625,
)  # fmt: skip


def record(id: str, start: float, function: str = "hello", tenant: str = "default",
           **kw: object) -> ActivationRecord:
    return RECORD._replace(id=id, start=start, end=start + 0.5, function=function,
                           tenant=tenant, **kw)


async def test_the_newest_records_come_first_across_batches_whose_times_overlap(
    store: Store,
) -> None:
    """Batches hold records in the order they ended, so a later batch can hold an earlier
    start (a slow invocation): reads must order by start across pages, not by page."""
    rng = random.Random(7)
    made = [record(f"r{i:04d}", start=1000.0 + rng.uniform(0, 100), function=rng.choice(
        ["hello", "other"])) for i in range(600)]
    for first in range(0, len(made), 37):  # 17 batches, each a page per function
        await store.add_activations(made[first:first + 37], [])
    await store.add_activations([record("x1", 1050.0, tenant="acme")], [])

    def newest(records: list[ActivationRecord], n: int) -> list[str]:
        return [r.id for r in sorted(records, key=lambda r: (r.start, r.id), reverse=True)][:n]

    for limit in (1, 5, 36, 37, 38, 200, 1000):
        got = await store.list_activations("default", limit=limit)
        assert [r.id for r in got] == newest(made, limit), limit
        hello = await store.list_activations("default", "hello", limit=limit)
        assert [r.id for r in hello] == newest([r for r in made if r.function == "hello"], limit)
    assert await store.get_activation("default", "r0123") == made[123]
    assert [r.id for r in await store.list_activations("acme")] == ["x1"]


async def test_records_with_the_same_start_keep_an_order_by_id(store: Store) -> None:
    for batch in (["b", "d"], ["a", "c"], ["e"]):
        await store.add_activations([record(id, 5.0) for id in batch], [])
    assert [r.id for r in await store.list_activations("default", limit=3)] == ["e", "d", "c"]


async def test_a_tenant_never_reads_another_tenants_record(store: Store) -> None:
    await store.add_activations([record("mine", 1.0, tenant="acme"), record("yours", 2.0)], [])
    with pytest.raises(NotFound, match="activation 'yours' does not exist"):
        await store.get_activation("acme", "yours")
    assert (await store.get_activation("acme", "mine")).tenant == "acme"
    assert [r.id for r in await store.list_activations("acme", "hello")] == ["mine"]


async def test_migrating_moves_each_stored_record_into_a_page(store_url: str) -> None:
    engine = create_engine(store_url)
    rows = [record(f"m{i:03d}", 10.0 + i, function="f" if i % 3 else "g",
                   status=Status.ERROR if i == 4 else Status.SUCCESS,
                   error_type="E" if i == 4 else None, traceback="T" if i == 4 else None)
            for i in range(1203)]  # more than one page of one function
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0005"))
        await conn.execute(
            sa.table("activations", *(sa.column(f) for f in ActivationRecord._fields)).insert(),
            [{**r._asdict(), "status": r.status.value} for r in rows])
    await engine.dispose()

    store = await Store.open(store_url)
    try:
        assert await store.get_activation("default", "m004") == rows[4]
        got = await store.list_activations("default", "f", limit=1000)
        assert got == sorted([r for r in rows if r.function == "f"], key=lambda r: r.start,
                             reverse=True)[:1000]
        assert len(await store.list_activations("default", limit=2000)) == 1203
        await store.add_activations([record("new", 5000.0, function="f")], [])
        assert (await store.list_activations("default", "f", limit=1))[0].id == "new"
    finally:
        await store.close()

    engine = create_engine(store_url)
    async with engine.begin() as conn:  # and back: the rows are all there again
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0005"))
        count = (await conn.execute(sa.text("SELECT count(*) FROM activations"))).scalar()
    await engine.dispose()
    assert count == 1204


async def test_a_tenant_with_many_functions_reads_its_newest_across_small_pages(
    store: Store,
) -> None:
    """Each batch is a page per function: with many functions most pages hold one record,
    and a read of the API's largest limit walks about as many pages as it returns records."""
    rng = random.Random(11)
    made = []
    for batch in range(12):
        records = [record(f"p{batch:02d}f{fn:03d}", start=float(rng.randrange(40)),
                          function=f"fn{fn}") for fn in range(120)]
        records.append(record(f"p{batch:02d}rare", start=float(rng.randrange(40)),
                              function="rare"))
        made.extend(records)
        await store.add_activations(records, [])

    def newest(records: list[ActivationRecord], n: int) -> list[str]:
        return [r.id for r in sorted(records, key=lambda r: (r.start, r.id), reverse=True)][:n]

    for limit in (1, 7, 130, 1000, 2000):
        got = await store.list_activations("default", limit=limit)
        assert [r.id for r in got] == newest(made, limit), limit
        rare = await store.list_activations("default", "rare", limit=limit)
        assert [r.id for r in rare] == newest([r for r in made if r.function == "rare"], limit)


async def test_migrating_moves_records_a_page_at_a_time_and_back(store_url: str) -> None:
    """Both directions read a few pages' worth of rows a query, in one transaction with
    the writes and the DROP of the table read (a cursor left open would refuse it)."""
    engine = create_engine(store_url)
    rows = [record(f"s{i:05d}", 10.0 + i % 97, function=f"f{i % 5}") for i in range(4500)]
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0005"))
        await conn.execute(
            sa.table("activations", *(sa.column(f) for f in ActivationRecord._fields)).insert(),
            [{**r._asdict(), "status": r.status.value} for r in rows])
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0006"))
        pages = (await conn.execute(sa.text("SELECT count(*) FROM activation_pages"))).scalar()
        ids = (await conn.execute(sa.text("SELECT count(*) FROM activation_ids"))).scalar()
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0005"))
        back = (await conn.execute(sa.text(
            'SELECT id, start FROM activations ORDER BY id'))).all()
    await engine.dispose()
    assert (pages, ids) == (10, 4500)  # 900 records of each of 5 functions: 500 + 400
    assert [tuple(row) for row in back] == [(r.id, r.start) for r in rows]


async def test_migrating_holds_a_few_pages_of_records_in_memory_not_the_table(
    store_url: str,
) -> None:
    """Records are never deleted, so the table can be far larger than memory: both ways, the
    migration reads a few pages' worth a query (one query over the whole table was fetched
    whole by the async drivers: 48 MB of tracebacks here)."""
    engine = create_engine(store_url)
    table = sa.table("activations", *(sa.column(f) for f in ActivationRecord._fields))
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0005"))
        for first in range(0, 12000, 1000):
            await conn.execute(table.insert(), [
                {**record(f"b{i:05d}", float(i), function=f"f{i % 3}")._asdict(),
                 "status": "error", "traceback": f"{i:05d}" + "x" * 4000}
                for i in range(first, first + 1000)])
    peaks = []
    for target in ("0006", "0005"):
        tracemalloc.start()
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync, to=target: (
                    command.upgrade if to == "0006" else command.downgrade)(
                        alembic_config(sync), to))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    async with engine.connect() as conn:
        count = (await conn.execute(sa.text("SELECT count(*) FROM activations"))).scalar()
    await engine.dispose()
    assert count == 12000
    assert max(peaks) < 24_000_000, peaks  # half of the tracebacks alone


async def test_ids_of_any_text_are_stored_and_found_as_given(store: Store) -> None:
    """Ids come from elsewhere too (an async job's, a flow task's): quotes, backslashes and
    other scripts reach the store's id rows unchanged."""
    odd = ['q"uote', "back\\slash", "naïve-云", "tab\there", "job-1-2"]
    await store.add_activations([record(id, float(i)) for i, id in enumerate(odd)], [])
    for id in odd:
        assert (await store.get_activation("default", id)).id == id
    with pytest.raises(Conflict):
        await store.add_activations([record("fresh", 9.0), record('q"uote', 9.0)], [])
    with pytest.raises(NotFound):
        await store.get_activation("default", "fresh")


async def test_a_sqlite_without_json_each_stores_ids_a_row_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite before 3.38 (or built without JSON) has no json_each: the ids then go in
    through executemany, with the same outcome."""
    monkeypatch.setattr(_activations, "json_each_available", lambda: False)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'yun.db'}")
    try:
        await store.add_activations([record("a1", 1.0), record("a2", 2.0)], [])
        assert (await store.get_activation("default", "a1")).id == "a1"
        with pytest.raises(Conflict):
            await store.add_activations([record("a3", 3.0), record("a2", 3.0)], [])
        assert [r.id for r in await store.list_activations("default")] == ["a2", "a1"]
    finally:
        await store.close()
    monkeypatch.undo()
    assert _activations.json_each_available()  # this machine's SQLite has it
