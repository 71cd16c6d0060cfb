"""API keys, functions, versions, aliases, activation records and logs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "functions",
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("memory", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("function", sa.Text, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("code_hash", sa.Text, nullable=False),
        sa.Column("layer_hash", sa.Text, nullable=True),
        sa.Column("code_size", sa.BigInteger, nullable=False),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant", "function"],
            ["functions.tenant", "functions.name"],
            name="fk_versions_function",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "aliases",
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("function", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant", "function", "version"],
            ["versions.tenant", "versions.function", "versions.number"],
            name="fk_aliases_version",
            ondelete="CASCADE",
        ),
    )
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
    op.create_index(
        "ix_activations_tenant_function_start",
        "activations",
        ["tenant", "function", sa.literal_column("start").desc()],
    )
    op.create_index(
        "ix_activations_tenant_start",
        "activations",
        ["tenant", sa.literal_column("start").desc()],
    )
    op.create_table(
        "logs",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("activation_id", sa.Text, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("function", sa.Text, nullable=False),
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_logs_tenant_function_id", "logs", ["tenant", "function", "id"])
    op.create_index("ix_logs_tenant_activation_id", "logs", ["tenant", "activation_id", "id"])


def downgrade() -> None:
    op.drop_table("logs")
    op.drop_table("activations")
    op.drop_table("aliases")
    op.drop_table("versions")
    op.drop_table("functions")
    op.drop_table("api_keys")
