"""Async invocation: the SQL queue's jobs and dedupe keys, invocation status, dead letters.

Self-contained: the tables are spelled out here rather than imported from `_schema`, which
keeps changing after this revision is frozen.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "queue_jobs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("enqueued_at", sa.Double, nullable=False),
        sa.Column("dedupe_key", sa.Text, nullable=True),
        sa.Column("due_at", sa.Double, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
        sa.Column("token", sa.Text, nullable=True),
    )
    op.create_index("ix_queue_jobs_due_at", "queue_jobs", ["due_at"])
    op.create_index("ix_queue_jobs_tenant", "queue_jobs", ["tenant"])
    op.create_table(
        "queue_dedupe",
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index("ix_queue_dedupe_expires_at", "queue_dedupe", ["expires_at"])
    op.create_table(
        "invocations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("result", sa.LargeBinary, nullable=True),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_index("ix_invocations_tenant_created", "invocations", ["tenant", "created_at"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("enqueued_at", sa.Double, nullable=False),
        sa.Column("dead_at", sa.Double, nullable=False),
    )
    op.create_index("ix_dead_letters_tenant_dead_at", "dead_letters", ["tenant", "dead_at"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_tenant_dead_at", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_index("ix_invocations_tenant_created", table_name="invocations")
    op.drop_table("invocations")
    op.drop_index("ix_queue_dedupe_expires_at", table_name="queue_dedupe")
    op.drop_table("queue_dedupe")
    op.drop_index("ix_queue_jobs_tenant", table_name="queue_jobs")
    op.drop_index("ix_queue_jobs_due_at", table_name="queue_jobs")
    op.drop_table("queue_jobs")
