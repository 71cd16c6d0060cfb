"""Activation records and the log lines of their invocations.

Records are stored in pages (see `_schema.activation_pages`): a batch's records of one
(tenant, function) are one msgpack array, each record an array in `ActivationRecord`'s field
order, and `activation_ids` maps each id to its page. Reads decode pages newest first and
stop as soon as no older page can hold a newer record than the ones kept.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yun.core.errors import InvalidRequest, NotFound
from yun.core.types import ActivationRecord
from yun.store._codec import log_from_row, log_to_row
from yun.store._models import LogLine
from yun.store._schema import activation_ids, activation_pages, logs

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[ActivationRecord]).decode

Page = tuple[str, str, float, float, int, bytes]  # activation_pages' columns after the id


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidRequest(f"limit must be at least 1, was: {limit}")


def pages(records: Iterable[ActivationRecord]) -> list[tuple[Page, list[str]]]:
    """The batch as pages, one per (tenant, function), each with its records' ids."""
    groups: dict[tuple[str, str], list[ActivationRecord]] = {}
    for record in records:
        key = (record[1], record[2])  # tenant, function
        group = groups.get(key)
        if group is None:
            groups[key] = [record]
        else:
            group.append(record)
    out = []
    for (tenant, function), group in groups.items():
        starts = [r[4] for r in group]
        page = (tenant, function, min(starts), max(starts), len(group), _encode(group))
        out.append((page, [r[0] for r in group]))
    return out


def _insert_sql(table: sa.Table, columns: list[str]) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    return f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})'


_PAGE_COLUMNS = [c.name for c in activation_pages.columns if c.name != "id"]
_LOG_COLUMNS = [c.name for c in logs.columns if c.name != "id"]
_SQLITE_PAGE = _insert_sql(activation_pages, _PAGE_COLUMNS)
_SQLITE_IDS = 'INSERT INTO "activation_ids" ("id", "page") SELECT value, ? FROM json_each(?)'
_SQLITE_ID = _insert_sql(activation_ids, ["id", "page"])
_SQLITE_LOG = _insert_sql(logs, _LOG_COLUMNS)
_json = msgspec.json.Encoder().encode


@functools.cache
def json_each_available() -> bool:
    """SQLite has had JSON built in since 3.38; an older or trimmed library may lack it.
    Asked once, at the first write (not at import: the CLI imports this too)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        try:
            probe.execute("SELECT value FROM json_each('[1]')").fetchall()
        except sqlite3.OperationalError:
            return False
    return True


def log_rows(lines: Sequence[LogLine]) -> list[tuple[Any, ...]]:
    """Log lines as plain tuples in the column order of `_SQLITE_LOG`."""
    return [(line.activation_id, line.tenant, line.function, line.stream, line.time, line.line)
            for line in lines]


def write_sqlite(
    conn: sqlite3.Connection, records: Sequence[ActivationRecord], lines: Sequence[LogLine]
) -> None:
    """`add` for the embedded store's own records connection, inside its transaction."""
    for page, ids in pages(records):
        page_id = conn.execute(_SQLITE_PAGE, page).lastrowid
        # The page's ids as one JSON array, one statement: executemany steps once per row,
        # and sqlite3 lets go of the GIL and takes it back around every step, each time
        # waiting for the event loop's thread to yield it (1.5-2.0 against 3.3-3.6 µs an id
        # on one core, before the waits).
        if json_each_available():
            conn.execute(_SQLITE_IDS, (page_id, _json(ids)))
        else:
            conn.executemany(_SQLITE_ID, [(id, page_id) for id in ids])
    if lines:
        conn.executemany(_SQLITE_LOG, log_rows(lines))


async def add(
    conn: AsyncConnection, records: Sequence[ActivationRecord], lines: Sequence[LogLine]
) -> None:
    for page, ids in pages(records):
        page_id = (await conn.execute(
            sa.insert(activation_pages).values(dict(zip(_PAGE_COLUMNS, page, strict=True)))
            .returning(activation_pages.c.id))).scalar_one()
        await conn.execute(sa.insert(activation_ids), [{"id": id, "page": page_id} for id in ids])
    if lines:
        await conn.execute(sa.insert(logs), [log_to_row(line) for line in lines])


Kept = tuple[tuple[float, str], ActivationRecord]  # ((start, id), record): ids are unique


async def list_activations(
    conn: AsyncConnection, tenant: str, function: str | None, limit: int
) -> list[ActivationRecord]:
    """The `limit` newest by start (then id), newest first."""
    _check_limit(limit)
    table = activation_pages.c
    where = [table.tenant == tenant]
    if function is not None:
        where.append(table.function == function)
    # The newest `limit` so far as a min-heap: its root is the oldest kept, which a record
    # must beat to get in, so a page costs a step per record rather than a sort of all kept
    # (up to `limit` pages of one record each: a tenant with many functions).
    kept: list[Kept] = []
    after: tuple[float, int] | None = None  # the last page read, in (last_start, id) order
    chunk = 4
    while True:
        query = sa.select(table.id, table.last_start, table.records).where(*where)
        if after is not None:
            # `<=` on its own bounds the index scan; the OR alone is only a filter there
            # (PostgreSQL), and each chunk would scan again from the newest page.
            query = query.where(table.last_start <= after[0], sa.or_(
                table.last_start < after[0],
                sa.and_(table.last_start == after[0], table.id < after[1])))
        query = query.order_by(table.last_start.desc(), table.id.desc()).limit(chunk)
        rows = (await conn.execute(query)).all()
        for _, last_start, data in rows:
            if len(kept) == limit and last_start < kept[0][0][0]:
                return _newest(kept)  # this page and every later one end before the oldest kept
            for record in _decode(data):
                key = (record.start, record.id)
                if len(kept) < limit:
                    heapq.heappush(kept, (key, record))
                elif key > kept[0][0]:
                    heapq.heapreplace(kept, (key, record))
        if len(rows) < chunk:
            return _newest(kept)
        after = (rows[-1].last_start, rows[-1].id)
        chunk = min(chunk * 4, 256)


def _newest(kept: list[Kept]) -> list[ActivationRecord]:
    return [record for _, record in sorted(kept, key=itemgetter(0), reverse=True)]


async def get_activation(
    conn: AsyncConnection, tenant: str, activation_id: str
) -> ActivationRecord:
    query = (
        sa.select(activation_pages.c.records)
        .select_from(activation_ids.join(
            activation_pages, activation_ids.c.page == activation_pages.c.id))
        .where(activation_ids.c.id == activation_id, activation_pages.c.tenant == tenant)
    )
    data = (await conn.execute(query)).scalar()
    for record in _decode(data) if data is not None else ():
        if record.id == activation_id:
            return record
    raise NotFound(f"activation '{activation_id}' does not exist")


async def list_logs(
    conn: AsyncConnection,
    tenant: str,
    function: str | None,
    after: int,
    limit: int,
    activation_id: str | None,
) -> list[LogLine]:
    _check_limit(limit)
    query = sa.select(logs).where(logs.c.tenant == tenant, logs.c.id > after)
    if function is not None:
        query = query.where(logs.c.function == function)
    if activation_id is not None:
        query = query.where(logs.c.activation_id == activation_id)
    query = query.order_by(logs.c.id).limit(limit)
    return [log_from_row(row) for row in (await conn.execute(query)).mappings()]
