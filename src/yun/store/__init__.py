"""Durable state: tenants, API keys, functions and versions, aliases, activation records,
logs, and flows (definitions, executions, history, timers).

One `Store` over SQLite (embedded profile) or PostgreSQL (cluster profile), picked by URL.
"""

from yun.store._batch import Batcher
from yun.store._engine import WRITE, create_engine
from yun.store._invocations import insert_absent
from yun.store._models import (
    ApiKey,
    DeadLetter,
    ExecutionWrite,
    Flow,
    FlowExecution,
    FlowTimer,
    FunctionSummary,
    Invocation,
    LogLine,
    NewApiKey,
    Tenant,
    TenantUsage,
)
from yun.store._schema import queue_dedupe, queue_jobs
from yun.store._store import Store
from yun.store._tenants import DEFAULT_TENANT, UID_FIRST, UID_LAST, check_tenant_name

__all__ = [
    "DEFAULT_TENANT",
    "UID_FIRST",
    "UID_LAST",
    "WRITE",
    "ApiKey",
    "Batcher",
    "DeadLetter",
    "ExecutionWrite",
    "Flow",
    "FlowExecution",
    "FlowTimer",
    "FunctionSummary",
    "Invocation",
    "LogLine",
    "NewApiKey",
    "Store",
    "Tenant",
    "TenantUsage",
    "check_tenant_name",
    "create_engine",
    "insert_absent",
    "queue_dedupe",
    "queue_jobs",
]
