"""Flows: definitions (numbered versions), executions, their history and their timers.

Self-contained: the tables are spelled out here rather than imported from `_schema`, which
keeps changing after this revision is frozen.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_table(
        "flow_versions",
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("flow", sa.Text, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant", "flow"],
            ["flows.tenant", "flows.name"],
            name="fk_flow_versions_flow",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "flow_executions",
        sa.Column("uid", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("flow", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("cause", sa.Text, nullable=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("stopped_at", sa.Double, nullable=True),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("history_events", sa.Integer, nullable=False),
        sa.Column("resumes", sa.Integer, nullable=False),
        sa.UniqueConstraint("tenant", "flow", "name", name="uq_flow_executions_name"),
    )
    op.create_index("ix_flow_executions_status", "flow_executions", ["status"])
    op.create_index(
        "ix_flow_executions_tenant_flow_started",
        "flow_executions",
        ["tenant", "flow", sa.literal_column("started_at").desc()],
    )
    op.create_table(
        "flow_history",
        sa.Column("execution", sa.Text, primary_key=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.Text, nullable=False),
    )
    op.create_table(
        "flow_timers",
        sa.Column("execution", sa.Text, primary_key=True),
        sa.Column("token", sa.Text, primary_key=True),
        sa.Column("fire_at", sa.Double, nullable=False),
    )
    op.create_index("ix_flow_timers_fire_at", "flow_timers", ["fire_at"])


def downgrade() -> None:
    op.drop_index("ix_flow_timers_fire_at", table_name="flow_timers")
    op.drop_table("flow_timers")
    op.drop_table("flow_history")
    op.drop_index("ix_flow_executions_tenant_flow_started", table_name="flow_executions")
    op.drop_index("ix_flow_executions_status", table_name="flow_executions")
    op.drop_table("flow_executions")
    op.drop_table("flow_versions")
    op.drop_table("flows")
