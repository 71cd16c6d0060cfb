"""Activation records in pages: one row per (tenant, function) and batch, holding its records
as one msgpack array, and one narrow row per record mapping its id to its page. The records
already stored move into pages of up to `_PAGE` records.

Self-contained: the tables and the page format (an array of records, each an array in the
field order below, `status` as its text) are spelled out here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_FIELDS = ("id", "tenant", "function", "version", "start", "end", "duration_ms", "init_ms",
           "wait_ms", "memory_mb", "max_rss_mb", "status", "billed_ms", "gb_seconds",
           "error_type", "error_message", "traceback")
_PAGE = 500  # the recorder's largest batch
_PAGES_READ = 2  # pages a query of the downgrade reads

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_activations = sa.table("activations", *(sa.column(f) for f in _FIELDS))
_pages = sa.table("activation_pages", sa.column("id"), sa.column("tenant"),
                  sa.column("function"), sa.column("first_start"), sa.column("last_start"),
                  sa.column("count"), sa.column("records"))
_ids = sa.table("activation_ids", sa.column("id"), sa.column("page"))


def upgrade() -> None:
    op.create_table(
        "activation_pages",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("function", sa.Text, nullable=False),
        sa.Column("first_start", sa.Double, nullable=False),
        sa.Column("last_start", sa.Double, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("records", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_activation_pages_tenant_function_last", "activation_pages",
                    ["tenant", "function", "last_start"])
    op.create_index("ix_activation_pages_tenant_last", "activation_pages",
                    ["tenant", "last_start"])
    op.create_table(
        "activation_ids",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("page", _BigId, nullable=False),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    encode = msgspec.msgpack.Encoder().encode
    for group in _groups(conn):
        starts = [row[4] for row in group]
        page = conn.execute(sa.insert(_pages).values(
            tenant=group[0][1], function=group[0][2], first_start=min(starts),
            last_start=max(starts), count=len(group), records=encode(group),
        ).returning(_pages.c.id)).scalar_one()
        conn.execute(sa.insert(_ids), [{"id": row[0], "page": page} for row in group])
    op.drop_index("ix_activations_tenant_start", table_name="activations")
    op.drop_index("ix_activations_tenant_function_start", table_name="activations")
    op.drop_table("activations")


def _groups(conn: sa.Connection) -> Iterator[list[list[Any]]]:
    """The stored records as runs of up to `_PAGE` of one (tenant, function), by start.

    A query per run, each read to its end: one query over the whole table is fetched whole
    by the async drivers' cursors (every record ever stored in memory at once), and streamed
    through a server-side cursor instead, it stays open on asyncpg until the transaction
    ends, so that `DROP TABLE activations` then fails."""
    c = _activations.c
    pairs = conn.execute(
        sa.select(c.tenant, c.function).distinct().order_by(c.tenant, c.function)).all()
    for tenant, function in pairs:
        after: tuple[float, str] | None = None  # the last (start, id) read
        while True:
            query = sa.select(*(c[f] for f in _FIELDS)).where(
                c.tenant == tenant, c.function == function)
            if after is not None:  # `>=` on its own bounds the index scan
                query = query.where(c.start >= after[0], sa.or_(
                    c.start > after[0], sa.and_(c.start == after[0], c.id > after[1])))
            rows = conn.execute(query.order_by(c.start, c.id).limit(_PAGE)).all()
            if rows:
                yield [list(row) for row in rows]
            if len(rows) < _PAGE:
                break
            after = (rows[-1][4], rows[-1][0])


def downgrade() -> None:
    op.create_table(
        "activations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("function", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("start", sa.Double, nullable=False),
        sa.Column("end", sa.Double, nullable=False),
        sa.Column("duration_ms", sa.Double, nullable=False),
        sa.Column("init_ms", sa.Double, nullable=False),
        sa.Column("wait_ms", sa.Double, nullable=False),
        sa.Column("memory_mb", sa.Integer, nullable=False),
        sa.Column("max_rss_mb", sa.Double, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("billed_ms", sa.BigInteger, nullable=False),
        sa.Column("gb_seconds", sa.Double, nullable=False),
        sa.Column("error_type", sa.Text, nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("traceback", sa.Text, nullable=True),
    )
    op.create_index("ix_activations_tenant_function_start", "activations",
                    ["tenant", "function", sa.literal_column("start").desc()])
    op.create_index("ix_activations_tenant_start", "activations",
                    ["tenant", sa.literal_column("start").desc()])
    conn = op.get_bind()
    decode = msgspec.msgpack.Decoder(list[list[Any]]).decode
    after: int | None = None  # the last page moved; a few pages a query, as `_groups` reads
    while True:
        query = sa.select(_pages.c.id, _pages.c.records)
        if after is not None:
            query = query.where(_pages.c.id > after)
        pages = conn.execute(query.order_by(_pages.c.id).limit(_PAGES_READ)).all()
        for _, data in pages:
            rows: Sequence[list[Any]] = decode(data)
            conn.execute(sa.insert(_activations),
                         [dict(zip(_FIELDS, row, strict=True)) for row in rows])
        if len(pages) < _PAGES_READ:
            break
        after = pages[-1][0]
    op.drop_table("activation_ids")
    op.drop_index("ix_activation_pages_tenant_last", table_name="activation_pages")
    op.drop_index("ix_activation_pages_tenant_function_last", table_name="activation_pages")
    op.drop_table("activation_pages")
