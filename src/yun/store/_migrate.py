"""Run the packaged Alembic migrations to head when a store is opened."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")

# Any constant: cluster processes starting together take this lock so only one migrates.
_PG_LOCK_KEY = 0x59554E  # "YUN"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config built in code, so migrations run from an installed wheel."""
    config = Config()
    # ConfigParser interpolates `%`; a data dir containing one must not break the path.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "yun.store ships at least one migration"
    return revision


def current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection) -> None:
    """Migrate to head inside the caller's transaction (a no-op when already there)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    if current(connection) == head():
        return
    command.upgrade(alembic_config(connection), "head")
