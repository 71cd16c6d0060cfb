"""Rows to values and back. JSON columns hold plain dicts, never pickled objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from yun.core.manifest import manifest_from_dict
from yun.core.types import ActivationRecord, Alias, Status, Version
from yun.store._models import LogLine


def version_from_row(row: sa.RowMapping) -> Version:
    return Version(
        function=row["function"],
        number=row["number"],
        code_hash=row["code_hash"],
        layer_hash=row["layer_hash"],
        manifest=manifest_from_dict(row["manifest"]),
        created_at=row["created_at"],
    )


def alias_from_row(row: sa.RowMapping) -> Alias:
    return Alias(
        function=row["function"],
        name=row["name"],
        version=row["version"],
        weights={int(v): int(p) for v, p in row["weights"].items()},
    )


def weights_to_json(weights: Mapping[int, int]) -> dict[str, int]:
    # JSON object keys are strings; sorted so equal aliases store equal text.
    return {str(v): int(weights[v]) for v in sorted(weights)}


def activation_to_row(r: ActivationRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "tenant": r.tenant,
        "function": r.function,
        "version": r.version,
        "start": r.start,
        "end": r.end,
        "duration_ms": r.duration_ms,
        "init_ms": r.init_ms,
        "wait_ms": r.wait_ms,
        "memory_mb": r.memory_mb,
        "max_rss_mb": r.max_rss_mb,
        "status": Status(r.status).value,
        "billed_ms": r.billed_ms,
        "gb_seconds": r.gb_seconds,
        "error_type": r.error_type,
        "error_message": r.error_message,
        "traceback": r.traceback,
    }


def activation_from_row(row: sa.RowMapping) -> ActivationRecord:
    return ActivationRecord(**{**row, "status": Status(row["status"])})


def log_to_row(line: LogLine) -> dict[str, Any]:
    return {
        "activation_id": line.activation_id,
        "tenant": line.tenant,
        "function": line.function,
        "stream": line.stream,
        "time": line.time,
        "line": line.line,
    }


def log_from_row(row: sa.RowMapping) -> LogLine:
    return LogLine(
        seq=row["id"],
        activation_id=row["activation_id"],
        tenant=row["tenant"],
        function=row["function"],
        stream=row["stream"],
        time=row["time"],
        line=row["line"],
    )
