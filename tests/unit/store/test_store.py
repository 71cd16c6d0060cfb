"""The store contract, run on every backend the `store_url` fixture provides."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from yun.core.errors import Conflict, InvalidRequest, NotFound, PlatformError
from yun.core.types import ActivationRecord, Alias, Manifest, Network, ScaleSpec, Status
from yun.store import LogLine, Store
from yun.store._engine import create_engine
from yun.store._migrate import head
from yun.store._schema import metadata

MANIFEST = Manifest(
    name="hello",
    handler="main:handle",
    memory=256,
    timeout=2.5,
    scale=ScaleSpec(min=1, max=4, keep_alive=30.0),
    env={"GREETING": "hi"},
    network=Network.EGRESS,
)


RECORD = ActivationRecord(
    id="a1", function="hello", version=1, tenant="default", start=100.0, end=100.5,
    duration_ms=500.0, init_ms=0.0, wait_ms=1.5, memory_mb=128, max_rss_mb=40.2,
    status=Status.SUCCESS, billed_ms=500, gb_seconds=0.0625,
)  # fmt: skip


def record(id: str, function: str = "hello", start: float = 100.0, **kw: Any) -> ActivationRecord:
    return RECORD._replace(id=id, function=function, start=start, end=start + 0.5, **kw)


def log(activation_id: str, line: str, function: str = "hello") -> LogLine:
    return LogLine(0, activation_id, "default", function, "stdout", 100.0, line)


async def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(sa.text(sql))]
    finally:
        await engine.dispose()


# -- schema and migrations --------------------------------------------------------------


async def test_open_migrates_a_fresh_database_to_head(store: Store, store_url: str) -> None:
    assert await _query(store_url, "SELECT version_num FROM alembic_version") == [(head(),)]


async def test_migrated_schema_matches_the_table_metadata(store: Store, store_url: str) -> None:
    engine = create_async_engine(store_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    await engine.dispose()
    assert diff == []


async def test_reopen_is_idempotent_and_keeps_everything(
    store_url: str, clock: Callable[[], float]
) -> None:
    store = await Store.open(store_url, now=clock)
    key = (await store.create_api_key("default", "admin", admin=True)).plaintext
    await store.create_version("default", MANIFEST, "c1", "l1", 10)
    await store.set_alias("default", Alias("hello", "prod", 1))
    await store.add_activations([record("a1")], [log("a1", "hello")])
    await store.close()

    for _ in range(2):
        store = await Store.open(store_url, now=clock)
        try:
            assert (found := await store.lookup_api_key(key)) is not None
            assert found.admin and found.name == "admin"
            assert (await store.latest_version("default", "hello")).manifest == MANIFEST
            assert await store.get_alias("default", "hello", "prod") == Alias("hello", "prod", 1)
            assert await store.get_activation("default", "a1") == record("a1")
            assert [x.line for x in await store.list_logs("default", "hello")] == ["hello"]
        finally:
            await store.close()
    assert await _query(store_url, "SELECT version_num FROM alembic_version") == [(head(),)]


async def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.connect() as conn:
        pragmas = [
            (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        ]
    await engine.dispose()
    assert pragmas[:3] == ["wal", 2, 1]  # synchronous 2 is FULL
    assert isinstance(pragmas[3], int) and pragmas[3] > 0


# -- API keys ---------------------------------------------------------------------------


async def test_api_key_plaintext_is_returned_once_and_looked_up(store: Store) -> None:
    assert await store.count_api_keys() == 0
    await store.create_tenant("acme")
    made = await store.create_api_key("acme", "ci", admin=False)
    key = made.plaintext
    assert key.startswith("yun_") and len(key) > 40
    found = await store.lookup_api_key(key)
    assert found == made.key
    assert (found.tenant, found.name, found.admin) == ("acme", "ci", False)
    assert found.created_at == 1_700_000_002.0 and found.expires_at is None
    assert found.prefix == key[:12]
    assert await store.lookup_api_key(key + "x") is None
    assert await store.count_api_keys() == 1


async def test_api_keys_are_stored_only_as_hashes(store: Store, store_url: str) -> None:
    key = (await store.create_api_key("default", "admin", admin=True)).plaintext
    rows = await _query(store_url, "SELECT * FROM api_keys")
    assert len(rows) == 1 and key not in repr(rows)


async def test_sqlite_file_never_contains_a_key_plaintext(tmp_path: Path) -> None:
    db = tmp_path / "yun.db"
    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    key = (await store.create_api_key("default", "admin", admin=True)).plaintext
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # db, -wal and -shm
    await store.close()
    written += db.read_bytes()
    assert key.encode() not in written
    assert key.removeprefix("yun_").encode() not in written


# -- functions and versions -------------------------------------------------------------


async def test_versions_are_numbered_from_one_per_function(store: Store) -> None:
    v1, created1 = await store.create_version("default", MANIFEST, "c1", None, 10)
    v2, created2 = await store.create_version("default", MANIFEST, "c2", None, 10)
    other, _ = await store.create_version(
        "default", dataclasses.replace(MANIFEST, name="o"), "c1", None, 1
    )
    assert (v1.number, created1, v2.number, created2, other.number) == (1, True, 2, True, 1)
    assert v1.manifest == MANIFEST and v1.layer_hash is None
    assert await store.list_versions("default", "hello") == [v1, v2]
    assert await store.get_version("default", "hello", 1) == v1


async def test_identical_deploy_returns_the_latest_version_and_writes_nothing(
    store: Store,
) -> None:
    v1, _ = await store.create_version("default", MANIFEST, "c1", "l1", 10)
    again, created = await store.create_version("default", MANIFEST, "c1", "l1", 10)
    assert (again, created) == (v1, False)
    assert [v.number for v in await store.list_versions("default", "hello")] == [1]


@pytest.mark.parametrize(
    ("manifest", "code_hash", "layer_hash"),
    [
        (MANIFEST, "c2", "l1"),
        (MANIFEST, "c1", None),
        (dataclasses.replace(MANIFEST, memory=512), "c1", "l1"),
        (dataclasses.replace(MANIFEST, env={}), "c1", "l1"),
    ],
)
async def test_any_difference_makes_a_new_version(
    store: Store, manifest: Manifest, code_hash: str, layer_hash: str | None
) -> None:
    await store.create_version("default", MANIFEST, "c1", "l1", 10)
    v2, created = await store.create_version("default", manifest, code_hash, layer_hash, 10)
    assert (v2.number, created) == (2, True)


async def test_redeploying_older_code_makes_a_new_version(store: Store) -> None:
    for code in ("c1", "c2", "c1"):
        await store.create_version("default", MANIFEST, code, None, 10)
    assert (await store.latest_version("default", "hello")).number == 3


async def test_concurrent_deploys_get_distinct_numbers(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create_version("default", MANIFEST, f"c{i}", None, 10) for i in range(10))
    )
    assert sorted(v.number for v, _ in results) == list(range(1, 11))


async def test_concurrent_identical_deploys_create_one_version(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create_version("default", MANIFEST, "c1", None, 10) for _ in range(10))
    )
    assert {v.number for v, _ in results} == {1}
    assert sum(created for _, created in results) == 1


async def test_list_functions_is_sorted_and_reports_the_latest_version(
    store: Store,
) -> None:
    for name, memory in (("zeta", 128), ("alpha", 128), ("alpha", 1024)):
        m = dataclasses.replace(MANIFEST, name=name, memory=memory)
        await store.create_version("default", m, f"{name}{memory}", None, 1)
    alpha, zeta = await store.list_functions("default")
    assert (alpha.name, alpha.latest_version, alpha.memory) == ("alpha", 2, 1024)
    assert alpha.updated_at > alpha.created_at
    assert (zeta.name, zeta.latest_version) == ("zeta", 1)


async def test_tenants_do_not_see_each_others_functions(store: Store) -> None:
    await store.create_tenant("a")
    await store.create_tenant("b")
    await store.create_version("a", MANIFEST, "c1", None, 10)
    v, created = await store.create_version("b", MANIFEST, "c1", None, 10)
    assert (v.number, created) == (1, True)
    await store.delete_function("b", "hello")
    assert await store.list_functions("b") == []
    assert [f.name for f in await store.list_functions("a")] == ["hello"]


async def test_not_found_errors_name_the_missing_thing(store: Store) -> None:
    await store.create_version("default", MANIFEST, "c1", None, 10)
    cases = [
        (store.get_version("default", "hello", 7), "function 'hello' has no version 7"),
        (store.get_version("default", "nope", 1), "function 'nope' does not exist"),
        (store.latest_version("default", "nope"), "function 'nope' does not exist"),
        (store.list_versions("default", "nope"), "function 'nope' does not exist"),
        (store.delete_function("default", "nope"), "function 'nope' does not exist"),
        (store.get_alias("default", "hello", "prod"), "function 'hello' has no alias 'prod'"),
        (store.delete_alias("default", "hello", "prod"), "function 'hello' has no alias 'prod'"),
        (store.list_aliases("default", "nope"), "function 'nope' does not exist"),
        (store.get_activation("default", "a9"), "activation 'a9' does not exist"),
        (store.latest_version("other", "hello"), "function 'hello' does not exist"),
    ]
    for call, message in cases:
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.message == message


async def test_delete_function_removes_versions_and_aliases_but_keeps_records(
    store: Store,
) -> None:
    await store.create_version("default", MANIFEST, "c1", None, 10)
    await store.set_alias("default", Alias("hello", "prod", 1))
    await store.add_activations([record("a1")], [log("a1", "out")])
    await store.delete_function("default", "hello")
    with pytest.raises(NotFound):
        await store.list_aliases("default", "hello")
    assert await store.list_functions("default") == []
    assert [r.id for r in await store.list_activations("default", "hello")] == ["a1"]
    assert len(await store.list_logs("default", "hello")) == 1
    v, _ = await store.create_version("default", MANIFEST, "c1", None, 10)
    assert v.number == 1  # a deleted function starts over


# -- aliases ----------------------------------------------------------------------------


async def _three_versions(store: Store) -> None:
    for code in ("c1", "c2", "c3"):
        await store.create_version("default", MANIFEST, code, None, 10)


async def test_set_alias_creates_then_replaces(store: Store) -> None:
    await _three_versions(store)
    assert await store.set_alias("default", Alias("hello", "prod", 1)) == Alias("hello", "prod", 1)
    await store.set_alias("default", Alias("hello", "beta", 3))
    canary = Alias("hello", "prod", 2, {3: 10, 1: 5})
    assert await store.set_alias("default", canary) == canary
    assert await store.get_alias("default", "hello", "prod") == canary
    assert [a.name for a in await store.list_aliases("default", "hello")] == ["beta", "prod"]
    await store.delete_alias("default", "hello", "beta")
    assert await store.list_aliases("default", "hello") == [canary]


@pytest.mark.parametrize(
    ("weights", "named"),
    [({2: 0}, "was: 0"), ({2: 100}, "was: 100"), ({2: 60, 3: 40}, "was: 100"), ({1: 5}, "was: 1")],
)
async def test_alias_weights_outside_the_rules_are_refused(
    store: Store, weights: dict[int, int], named: str
) -> None:
    await _three_versions(store)
    with pytest.raises(InvalidRequest) as caught:
        await store.set_alias("default", Alias("hello", "prod", 1, weights))
    assert named in caught.value.message and "alias 'prod'" in caught.value.message
    with pytest.raises(NotFound):
        await store.get_alias("default", "hello", "prod")


@pytest.mark.parametrize(("version", "weights"), [(9, {}), (1, {2: 10, 9: 10})])
async def test_alias_to_a_missing_version_names_it(
    store: Store, version: int, weights: dict[int, int]
) -> None:
    await _three_versions(store)
    with pytest.raises(NotFound) as caught:
        await store.set_alias("default", Alias("hello", "prod", version, weights))
    assert caught.value.message == "function 'hello' has no version 9"


async def test_alias_on_a_missing_function_names_the_function(store: Store) -> None:
    with pytest.raises(NotFound) as caught:
        await store.set_alias("default", Alias("nope", "prod", 1))
    assert caught.value.message == "function 'nope' does not exist"


# -- activation records and logs --------------------------------------------------------


async def test_activations_and_logs_round_trip_in_one_batch(store: Store) -> None:
    failed = record(
        "a2", start=200.0, status=Status.TIMEOUT, error_type="Timeout",
        error_message="ran past 2.5 s", traceback="Traceback...\n",
    )  # fmt: skip
    other = record("b1", function="other", start=150.0)
    lines = [log("a1", "one"), log("a2", "two"), log("b1", "three", function="other")]
    await store.add_activations([record("a1"), failed, other], lines)

    assert await store.get_activation("default", "a2") == failed
    assert [r.id for r in await store.list_activations("default")] == ["a2", "b1", "a1"]
    assert [r.id for r in await store.list_activations("default", "hello", limit=1)] == ["a2"]
    assert await store.list_activations("someone-else") == []

    stored = await store.list_logs("default", None)
    assert [x.line for x in stored] == ["one", "two", "three"]
    assert stored[0] == dataclasses.replace(lines[0], seq=stored[0].seq)
    assert stored[0].seq < stored[1].seq < stored[2].seq
    assert [x.line for x in await store.list_logs("default", "hello")] == ["one", "two"]
    assert [x.line for x in await store.list_logs("default", None, after=stored[0].seq)] == [
        "two",
        "three",
    ]
    assert [x.line for x in await store.list_logs("default", None, limit=1)] == ["one"]
    by_id = await store.list_logs("default", None, activation_id="a2")
    assert [x.line for x in by_id] == ["two"]


async def test_a_batch_with_a_duplicate_record_writes_nothing(store: Store) -> None:
    await store.add_activations([record("a1")], [])
    with pytest.raises(Conflict):
        await store.add_activations([record("a2"), record("a1")], [log("a2", "lost")])
    assert [r.id for r in await store.list_activations("default")] == ["a1"]
    assert await store.list_logs("default", None) == []


async def test_limits_below_one_are_refused(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="was: 0"):
        await store.list_activations("default", limit=0)
    with pytest.raises(InvalidRequest, match="was: -1"):
        await store.list_logs("default", None, limit=-1)


async def test_sqlite_records_wait_for_a_writer_holding_the_lock(tmp_path: Path) -> None:
    """Records go through their own SQLite connection: another writer's transaction delays
    them (busy timeout) instead of failing or interleaving with them."""
    path = tmp_path / "yun.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        adding = asyncio.create_task(store.add_activations([record("a1")], [log("a1", "x")]))
        await asyncio.sleep(0.3)
        assert not adding.done()
        other.execute("COMMIT")
        await asyncio.wait_for(adding, 10)
        assert [r.id for r in await store.list_activations("default")] == ["a1"]
        assert [x.line for x in await store.list_logs("default", None)] == ["x"]
    finally:
        other.close()
        await store.close()
    with pytest.raises(PlatformError, match="closed"):
        await store.add_activations([record("a2")], [])
