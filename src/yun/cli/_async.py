"""`yun invocation ID` and `yun dlq ls|show|redrive|purge`: async invocations and their dead
letters (`yun invoke --async` queues one)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, out, when

app = typer.Typer(help="Dead letters: async invocations that used up their attempts or age.",
                  no_args_is_help=True)


def invocation(
    ctx: typer.Context,
    id: Annotated[str, typer.Argument(help="The id `yun invoke --async` printed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
) -> None:
    """Show an async invocation: status, attempts, result or errors."""
    with _session.client(ctx) as client:
        found = client.invocation(id)
    if as_json:
        echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    echo(f"{found['id']}  {found['function']}  {found['status']}  "
         f"attempts {found['attempts']}  updated {when(found['updated_at'])}")
    if found["result"] is not None:
        echo(json.dumps(found["result"], indent=2, ensure_ascii=False))
    for error in found["errors"]:
        echo(_error_line(error))


@app.command("ls")
def list_letters(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
) -> None:
    """List dead letters, newest first."""
    with _session.client(ctx) as client:
        letters = client.dead_letters(limit)
    if as_json:
        echo(json.dumps(letters, indent=2, ensure_ascii=False))
        return
    table = Table("id", "function", "source", "attempts", "last error", "dead at", box=None)
    for letter in letters:
        last = letter.get("last_error") or {}
        table.add_row(letter["id"], letter["function"], letter["source"],
                      str(letter["attempts"]), f"{last.get('type')}: {last.get('message')}",
                      when(letter["dead_at"]))
    out().print(table)


@app.command("show")
def show(ctx: typer.Context, id: Annotated[str, typer.Argument()]) -> None:
    """A dead letter with its payload and every attempt's error."""
    with _session.client(ctx) as client:
        letter = client.dead_letter(id)
    echo(f"{letter['id']}  {letter['function']}  from {letter['source']}  "
         f"accepted {when(letter['enqueued_at'])}  dead {when(letter['dead_at'])}")
    echo(json.dumps(letter["payload"], indent=2, ensure_ascii=False))
    for error in letter["errors"]:
        echo(_error_line(error))


@app.command("redrive")
def redrive(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(help="Dead letter ids.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Queue dead letters again, with a fresh age and attempt budget."""
    with _session.client(ctx) as client:
        for id in _chosen(client, ids, everything):
            client.redrive(id)
            echo(f"redriven {id}")


@app.command("purge")
def purge(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(help="Dead letter ids.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Delete dead letters for good."""
    with _session.client(ctx) as client:
        if everything and not ids:
            echo(f"purged {client.purge_dead_letters()}")
            return
        for id in _chosen(client, ids, everything):
            client.purge_dead_letters(id)
            echo(f"purged {id}")


def _chosen(client: Any, ids: list[str] | None, everything: bool) -> list[str]:
    if bool(ids) == everything:
        raise typer.BadParameter("give dead letter ids or --all (not both)", param_hint="IDS")
    if everything:
        return [letter["id"] for letter in client.dead_letters(1000)]
    return list(ids or [])


def _error_line(error: dict[str, Any]) -> str:
    return (f"  attempt {error.get('attempt')} {when(error.get('at'))} "
            f"{error.get('status')}: {error.get('type')}: {error.get('message')}")
