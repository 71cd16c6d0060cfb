"""The tables, as SQLAlchemy Core metadata. Migrations create them; queries use these objects.

Keep this in step with `migrations/versions/`: a test compares the migrated database with
this metadata, so a column added here without a migration fails the suite.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# An id that is BIGSERIAL on PostgreSQL and the rowid on SQLite (INTEGER PRIMARY KEY only
# aliases the rowid when the type is spelled INTEGER).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    # The uid the sandbox runs this tenant's instances as; unique and never reused, so a
    # file left behind by a removed tenant can never be read by a later one.
    sa.Column("uid", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    # Only the quotas an admin overrode, {"functions": 10}; the rest follow the defaults.
    sa.Column("quotas", sa.JSON, nullable=False),
    sa.UniqueConstraint("uid", name="uq_tenants_uid"),
)

# One row (id 1): the next tenant uid. A counter rather than max(uid) + 1, so the uid of a
# tenant that is ever deleted is not handed out again.
tenant_uids = sa.Table(
    "tenant_uids",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("next_uid", sa.BigInteger, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("admin", sa.Boolean, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    # The id users see: random, so it tells nothing about how many keys other tenants have.
    sa.Column("key_id", sa.Text, nullable=False),
    # The plaintext's first characters, to recognise a key by; NULL for keys older than 0002.
    sa.Column("prefix", sa.Text, nullable=True),
    # When the key stops working: set to "now" by revoke, to "now + grace" by rotate.
    # Revoked rows stay, for audit and so a revoked key is told apart from an unknown one.
    sa.Column("expires_at", sa.Double, nullable=True),
    sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
)
sa.Index("ix_api_keys_tenant", api_keys.c.tenant)

functions = sa.Table(
    "functions",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("memory", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

versions = sa.Table(
    "versions",
    metadata,
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

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("function", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("weights", sa.JSON, nullable=False),  # {"<version>": percent}
    sa.ForeignKeyConstraint(
        ["tenant", "function", "version"],
        ["versions.tenant", "versions.function", "versions.number"],
        name="fk_aliases_version",
        ondelete="CASCADE",
    ),
)

cron_ticks = sa.Table(
    "cron_ticks",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("function", sa.Text, primary_key=True),
    sa.Column("schedule", sa.Text, primary_key=True),  # with its time zone
    sa.Column("last_tick", sa.Double, nullable=False),  # the scheduled time, epoch s
    sa.ForeignKeyConstraint(
        ["tenant", "function"],
        ["functions.tenant", "functions.name"],
        name="fk_cron_ticks_function",
        ondelete="CASCADE",
    ),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("function", sa.Text, nullable=False),
    sa.Column("secret_env", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("tenant", "function", "secret_env", name="uq_webhooks_trigger"),
    sa.ForeignKeyConstraint(
        ["tenant", "function"],
        ["functions.tenant", "functions.name"],
        name="fk_webhooks_function",
        ondelete="CASCADE",
    ),
)

# Activation records and logs outlive their function (billing and audit need them), so
# they carry no foreign key to `functions`.
#
# Records are stored a page at a time: each batch the recorder commits becomes one row per
# (tenant, function) holding its records as one msgpack array (`_activations` reads and
# writes it), and one narrow row per record maps its id to its page. A row per record with
# three indexes on it cost 14-16 µs a record on the embedded profile, most of an invocation's
# CPU outside the handler; a page costs about 4, its id rows and the commit included.
activation_pages = sa.Table(
    "activation_pages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("function", sa.Text, nullable=False),
    sa.Column("first_start", sa.Double, nullable=False),  # its records' earliest start
    sa.Column("last_start", sa.Double, nullable=False),  # and latest
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("records", sa.LargeBinary, nullable=False),
)
sa.Index(
    "ix_activation_pages_tenant_function_last",
    activation_pages.c.tenant,
    activation_pages.c.function,
    activation_pages.c.last_start,
)
sa.Index(
    "ix_activation_pages_tenant_last", activation_pages.c.tenant, activation_pages.c.last_start
)

activation_ids = sa.Table(
    "activation_ids",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # unique: a second record with it is refused
    sa.Column("page", BigId, nullable=False),
    sqlite_with_rowid=False,
)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("activation_id", sa.Text, nullable=False),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("function", sa.Text, nullable=False),
    sa.Column("stream", sa.Text, nullable=False),
    sa.Column("time", sa.Double, nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    # AUTOINCREMENT: never reuse an id, even after retention deletes the newest rows;
    # readers page with "id > after" and would otherwise miss lines.
    sqlite_autoincrement=True,
)
sa.Index("ix_logs_tenant_function_id", logs.c.tenant, logs.c.function, logs.c.id)
sa.Index("ix_logs_tenant_activation_id", logs.c.tenant, logs.c.activation_id, logs.c.id)

# --- flows -------------------------------------------------------------------------------
# JSON values (definitions, inputs, outputs, execution state, history events) are stored as
# JSON text: a JSON `null` output stays distinct from "no output yet" (SQL NULL).

flows = sa.Table(
    "flows",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

# Every definition ever deployed: an execution runs the version it started with to its end.
flow_versions = sa.Table(
    "flow_versions",
    metadata,
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

flow_executions = sa.Table(
    "flow_executions",
    metadata,
    # Random and unique across tenants: the base of its tasks' request (activation) ids.
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
    # The interpreter's execution value (`Execution.to_json()`), rewritten by every step.
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("stopped_at", sa.Double, nullable=True),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("history_events", sa.Integer, nullable=False),
    # How often a runner resumed it after a restart: re-deliveries of a task get new ids.
    sa.Column("resumes", sa.Integer, nullable=False),
    # A name is unique per flow: starting the same name twice is idempotent.
    sa.UniqueConstraint("tenant", "flow", "name", name="uq_flow_executions_name"),
)
sa.Index("ix_flow_executions_status", flow_executions.c.status)
sa.Index(
    "ix_flow_executions_tenant_flow_started",
    flow_executions.c.tenant,
    flow_executions.c.flow,
    flow_executions.c.started_at.desc(),
)

# Append-only; `id` is the event id the interpreter numbered (1, 2, ...).
flow_history = sa.Table(
    "flow_history",
    metadata,
    sa.Column("execution", sa.Text, primary_key=True),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("event", sa.Text, nullable=False),
)

# A pending timer (Wait state, retry back-off, task or execution timeout): a row, so a wait of
# hours costs no process and no memory.
flow_timers = sa.Table(
    "flow_timers",
    metadata,
    sa.Column("execution", sa.Text, primary_key=True),
    sa.Column("token", sa.Text, primary_key=True),
    sa.Column("fire_at", sa.Double, nullable=False),  # epoch seconds
)
sa.Index("ix_flow_timers_fire_at", flow_timers.c.fire_at)

# --- async invocation ----------------------------------------------------------------------
# The SQL queue backends (`yun.queue`) keep their jobs here; the NATS backend keeps them in a
# JetStream stream. Invocation status and dead letters are in the store whatever the queue.

# One row per job waiting or leased. `due_at` is when it may be taken next: a take moves it
# to the end of the lease, so an expired lease simply makes the job due again.
queue_jobs = sa.Table(
    "queue_jobs",
    metadata,
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
    # Changed by every take: `done`/`retry` with an older token (a lease that expired and
    # was taken again) change nothing.
    sa.Column("token", sa.Text, nullable=True),
)
sa.Index("ix_queue_jobs_due_at", queue_jobs.c.due_at)
sa.Index("ix_queue_jobs_tenant", queue_jobs.c.tenant)

# (tenant, key) → the job accepted under it, until `expires_at`; outlives the job itself.
queue_dedupe = sa.Table(
    "queue_dedupe",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("job_id", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)
sa.Index("ix_queue_dedupe_expires_at", queue_dedupe.c.expires_at)

invocations = sa.Table(
    "invocations",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    # queued, running, succeeded, failed (an attempt failed, retry scheduled), dead
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("result", sa.LargeBinary, nullable=True),
    # [{"attempt", "status", "type", "message", "at", "activation_id"}, ...] as JSON text
    sa.Column("errors", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)
sa.Index("ix_invocations_tenant_created", invocations.c.tenant, invocations.c.created_at)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the invocation id
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("errors", sa.Text, nullable=False),
    sa.Column("enqueued_at", sa.Double, nullable=False),
    sa.Column("dead_at", sa.Double, nullable=False),
)
sa.Index("ix_dead_letters_tenant_dead_at", dead_letters.c.tenant, dead_letters.c.dead_at)
