"""Triggers: each cron schedule's last fired tick, and each webhook trigger's generated id.

Self-contained: the tables are spelled out here rather than imported from `_schema`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "cron_ticks",
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("function", sa.Text, primary_key=True),
        sa.Column("schedule", sa.Text, primary_key=True),  # with its time zone
        sa.Column("last_tick", sa.Double, nullable=False),  # the scheduled time, epoch s
        sa.ForeignKeyConstraint(
            ["tenant", "function"], ["functions.tenant", "functions.name"],
            name="fk_cron_ticks_function", ondelete="CASCADE",
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("function", sa.Text, nullable=False),
        sa.Column("secret_env", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.UniqueConstraint("tenant", "function", "secret_env", name="uq_webhooks_trigger"),
        sa.ForeignKeyConstraint(
            ["tenant", "function"], ["functions.tenant", "functions.name"],
            name="fk_webhooks_function", ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("webhooks")
    op.drop_table("cron_ticks")
