"""JSON shapes of the control API's resources."""

from __future__ import annotations

from dataclasses import asdict

from yun.core import ActivationRecord, Alias, Version
from yun.core.manifest import manifest_to_dict
from yun.store import FunctionSummary, LogLine


def version_view(version: Version) -> dict[str, object]:
    return {
        "function": version.function,
        "number": version.number,
        "code_hash": version.code_hash,
        "layer_hash": version.layer_hash,
        "created_at": version.created_at,
        "manifest": manifest_to_dict(version.manifest),
    }


def alias_view(alias: Alias) -> dict[str, object]:
    return {"name": alias.name, "function": alias.function, "version": alias.version,
            "weights": {str(k): v for k, v in alias.weights.items()}}


def summary_view(summary: FunctionSummary) -> dict[str, object]:
    return asdict(summary)


def activation_view(record: ActivationRecord, detail: bool = False) -> dict[str, object]:
    view: dict[str, object] = record._asdict()
    view["status"] = record.status.value
    if not detail:
        view.pop("traceback", None)
    return view


def log_view(line: LogLine) -> dict[str, object]:
    return {"seq": line.seq, "activation_id": line.activation_id, "function": line.function,
            "stream": line.stream, "time": line.time, "line": line.line}
