"""`yun activations [NAME]`: one record per invocation, with its timing, memory and bill."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, number, out, when


def activations(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this function.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array, for scripts.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 20,
) -> None:
    """List recent activations."""
    with _session.client(ctx) as client:
        records = client.activations(name, limit=limit)
    if as_json:
        echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    table = Table(
        "id",
        "function",
        "version",
        "status",
        "duration ms",
        "init ms",
        "billed ms",
        "memory / max rss",
        "start",
        box=None,
    )
    for record in records:
        table.add_row(
            str(record.get("id")),
            str(record.get("function")),
            number(record.get("version")),
            _status(record.get("status")),
            number(record.get("duration_ms")),
            number(record.get("init_ms")),
            number(record.get("billed_ms")),
            f"{number(record.get('memory_mb'))} / {number(record.get('max_rss_mb'), ' MiB')}",
            when(record.get("start")),
        )
    out().print(table)


def _status(status: object) -> str:
    text = str(status)
    return text if text == "success" else f"[red]{text}[/red]"
