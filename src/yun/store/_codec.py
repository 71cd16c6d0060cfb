"""Rows to values and back. JSON columns hold plain dicts, never pickled objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from yun.core.manifest import manifest_from_dict
from yun.core.types import Alias, Version
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
