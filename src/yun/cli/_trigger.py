"""`yun trigger ls|add|rm`: the functions' triggers, as declared in their manifests; adding
or removing one makes a new version with the same code."""

from __future__ import annotations

import json
from typing import Annotated

import typer
import yaml
from rich.table import Table

from yun.cli import _session
from yun.cli._console import out

app = typer.Typer(help="The functions' triggers: list, add, remove.", no_args_is_help=True)


@app.command("ls")
def list_triggers(
    ctx: typer.Context,
    function: Annotated[str | None, typer.Argument(help="Only this function's.")] = None,
) -> None:
    """List triggers: kind, options, and the URL of HTTP routes and webhooks."""
    with _session.client(ctx) as client:
        triggers = client.triggers(function)
    table = Table("function", "#", "kind", "options", "url", box=None)
    for entry in triggers:
        options = json.dumps(entry.get("options"), separators=(",", ":"))
        table.add_row(str(entry.get("function")), str(entry.get("index", "")),
                      str(entry.get("kind")), options, str(entry.get("url") or ""))
    out().print(table)


@app.command("add")
def add_trigger(
    ctx: typer.Context,
    function: Annotated[str, typer.Argument(help="The function to trigger.")],
    spec: Annotated[str, typer.Argument(
        help="One trigger as in yun.yaml, YAML or JSON: 'cron: \"*/5 * * * *\"', "
             "'{nats: {url: nats://127.0.0.1:4222, subject: orders}}'.")],
) -> None:
    """Add a trigger: the function gets a new version with the same code."""
    try:
        trigger = yaml.safe_load(spec)
    except yaml.YAMLError as exc:
        raise typer.BadParameter(f"the trigger is not YAML or JSON: {exc}") from None
    if not isinstance(trigger, dict):
        raise typer.BadParameter(f"the trigger must be a mapping like 'cron: \"@hourly\"', "
                                 f"was: {spec!r}")
    with _session.client(ctx) as client:
        done = client.add_trigger(function, trigger)
    out().print(f"{function} version {done['version']}: trigger #{done['index']} added")


@app.command("rm")
def remove_trigger(
    ctx: typer.Context,
    function: Annotated[str, typer.Argument(help="The function.")],
    index: Annotated[int, typer.Argument(help="The trigger's # in `yun trigger ls`.")],
) -> None:
    """Remove a trigger: the function gets a new version with the same code."""
    with _session.client(ctx) as client:
        done = client.remove_trigger(function, index)
    out().print(f"{function} version {done['version']}: trigger #{index} removed")
