"""Durable state: API keys, functions and versions, aliases, activation records and logs.

One `Store` over SQLite (embedded profile) or PostgreSQL (cluster profile), picked by URL.
"""

from yun.store._models import ApiKey, FunctionSummary, LogLine
from yun.store._store import Store

__all__ = ["ApiKey", "FunctionSummary", "LogLine", "Store"]
