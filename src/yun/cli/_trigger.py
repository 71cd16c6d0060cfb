"""`yun trigger ls [FUNCTION]`: the triggers declared in the functions' manifests."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import out

app = typer.Typer(help="See the functions' triggers (declared in yun.yaml).",
                  no_args_is_help=True)


@app.command("ls")
def list_triggers(
    ctx: typer.Context,
    function: Annotated[str | None, typer.Argument(help="Only this function's.")] = None,
) -> None:
    """List triggers: kind, options, and the URL of HTTP routes and webhooks."""
    with _session.client(ctx) as client:
        triggers = client.triggers(function)
    table = Table("function", "kind", "options", "url", box=None)
    for entry in triggers:
        options = json.dumps(entry.get("options"), separators=(",", ":"))
        table.add_row(str(entry.get("function")), str(entry.get("kind")), options,
                      str(entry.get("url") or ""))
    out().print(table)
