"""Tenants (with a never-reused uid each and quota overrides); API keys get a public id, a
display prefix and an expiry (revoke, rotate with a grace period).

Self-contained: the tables are spelled out here rather than imported from `_schema`, which
keeps changing after this revision is frozen.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import secrets
import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

DEFAULT_TENANT = "default"
UID_FIRST = 100_000  # the default tenant's uid; every later tenant gets the next one


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("quotas", sa.JSON, nullable=False),
        sa.UniqueConstraint("uid", name="uq_tenants_uid"),
    )
    op.create_table(
        "tenant_uids",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("next_uid", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("key_id", sa.Text, nullable=True))
        batch.add_column(sa.Column("prefix", sa.Text, nullable=True))
        batch.add_column(sa.Column("expires_at", sa.Double, nullable=True))

    bind = op.get_bind()
    api_keys = sa.table("api_keys", sa.column("id"), sa.column("key_id"), sa.column("tenant"))
    # Keys made before this revision get a random public id; their prefix stays unknown
    # (only a hash of the plaintext was ever stored).
    for (row_id,) in bind.execute(sa.select(api_keys.c.id)).all():
        bind.execute(
            sa.update(api_keys)
            .where(api_keys.c.id == row_id)
            .values(key_id=secrets.token_hex(6))
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("key_id", existing_type=sa.Text, nullable=False)
        batch.create_unique_constraint("uq_api_keys_key_id", ["key_id"])
        batch.create_index("ix_api_keys_tenant", ["tenant"])

    # Every tenant name already in use becomes a tenant: the default one first, so it always
    # holds UID_FIRST, then the others in name order.
    used: set[str] = set()
    for table in ("api_keys", "functions"):
        names = sa.table(table, sa.column("tenant"))
        used.update(bind.execute(sa.select(names.c.tenant).distinct()).scalars())
    used.discard(DEFAULT_TENANT)
    tenants = sa.table(
        "tenants",
        sa.column("name", sa.Text),
        sa.column("uid", sa.BigInteger),
        sa.column("created_at", sa.Double),
        sa.column("disabled", sa.Boolean),
        sa.column("quotas", sa.JSON),
    )
    now = time.time()
    rows = [
        {"name": name, "uid": UID_FIRST + i, "created_at": now, "disabled": False,
         "quotas": {}}
        for i, name in enumerate([DEFAULT_TENANT, *sorted(used)])
    ]  # fmt: skip
    op.bulk_insert(tenants, rows)
    counter = sa.table(
        "tenant_uids", sa.column("id", sa.Integer), sa.column("next_uid", sa.BigInteger)
    )
    op.bulk_insert(counter, [{"id": 1, "next_uid": UID_FIRST + len(rows)}])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_tenant")
        batch.drop_constraint("uq_api_keys_key_id", type_="unique")
        batch.drop_column("expires_at")
        batch.drop_column("prefix")
        batch.drop_column("key_id")
    op.drop_table("tenant_uids")
    op.drop_table("tenants")
