"""`yun flow deploy|start|ls|describe|history|stop|rm`: durable workflows in Amazon States
Language. An execution is named `FLOW:NAME`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, error, out, when
from yun.cli._invoke import _event
from yun.sdk._client import Client

app = typer.Typer(help="Durable workflows in Amazon States Language.", no_args_is_help=True)

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
_POLL = 60.0  # seconds per long poll while waiting (the server allows up to 300)

ExecutionId = Annotated[str, typer.Argument(metavar="FLOW:NAME", help="The execution.")]


@app.command("deploy")
def deploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Flow name.")],
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The definition, .asl.json or .yaml.")
    ],
) -> None:
    """Deploy a state machine (a new version when it changed)."""
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="FILE") from exc
    with _session.client(ctx) as client:
        result = client.deploy_flow(name, text)
    if result.get("created"):
        echo(f"deployed flow {name} version {result.get('version')}")
    else:
        echo(f"flow {name} unchanged (version {result.get('version')})")


@app.command("start")
def start(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Flow name.")],
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="The input, as JSON text ({} if absent).")
    ] = None,
    data_file: Annotated[
        str | None,
        typer.Option("--data-file", metavar="FILE|-", help="Read the input from FILE or stdin."),
    ] = None,
    execution: Annotated[
        str | None,
        typer.Option("--name", help="Execution name (unique per flow; starting it again with "
                     "the same input is the same execution)."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it has ended.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(min=0, help="With --wait: give up waiting after this many seconds."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help='Print one JSON object: {"status", "output", "error", '
                     '"cause"}.'),
    ] = False,
) -> None:
    """Start an execution. Exit status 1 when it has ended other than SUCCEEDED, or is still
    running after --timeout."""
    event = _event(data, data_file)
    first_wait = 0.0
    if wait:
        first_wait = _POLL if timeout is None else min(_POLL, timeout)
    with _session.client(ctx) as client:
        row = client.start_execution(name, event, execution, wait=first_wait)
        if wait:
            row = _wait(client, row, timeout, first_wait)
    status = row.get("status")
    failed = status != "SUCCEEDED" and (wait or status in ENDED)
    if as_json:
        echo(json.dumps({key: row.get(key) for key in ("status", "output", "error", "cause")}))
    elif row.get("status") == "SUCCEEDED" and wait:
        echo(json.dumps(row.get("output"), indent=2, ensure_ascii=False))
    elif failed:
        _report(row)
    elif row.get("created"):
        echo(f"started {row.get('id')}")
    else:
        echo(f"{row.get('id')} already exists ({row.get('status')})")
    if failed:
        raise typer.Exit(1)


def _wait(client: Client, row: dict[str, Any], timeout: float | None,
          waited: float) -> dict[str, Any]:  # fmt: skip
    deadline = None if timeout is None else time.monotonic() + timeout - waited
    while row.get("status") not in ENDED:
        remaining = _POLL if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            break
        row = client.execution(str(row["id"]), wait=min(_POLL, remaining))
    return row


def _report(row: dict[str, Any]) -> None:
    status = row.get("status")
    if status not in ENDED:
        error(f"{row.get('id')} is still {status}")
        return
    error(f"{row.get('id')} {status}: {row.get('error') or '-'}")
    if row.get("cause"):
        echo(str(row["cause"]), stderr=True)


@app.command("ls")
def list_flows(
    ctx: typer.Context,
    flow: Annotated[str | None, typer.Argument(help="List this flow's executions.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Executions, newest first.")] = 50,
) -> None:
    """List flows, or the executions of one flow."""
    with _session.client(ctx) as client:
        if flow is None:
            table = Table("flow", "version", "states", "updated", box=None)
            for f in client.flows():
                table.add_row(str(f.get("name")), str(f.get("version")), str(f.get("states")),
                              when(f.get("updated_at")))  # fmt: skip
        else:
            table = Table("execution", "status", "started", "stopped", "error", box=None)
            for row in client.executions(flow, limit):
                table.add_row(str(row.get("id")), str(row.get("status")),
                              when(row.get("started_at")), when(row.get("stopped_at")),
                              str(row.get("error") or "-"))  # fmt: skip
    out().print(table)


@app.command("describe")
def describe(
    ctx: typer.Context,
    execution_id: ExecutionId,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON object.")] = False,
) -> None:
    """Status, input, output, error and cause of an execution."""
    with _session.client(ctx) as client:
        row = client.execution(execution_id)
    if as_json:
        echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("execution", str(row.get("id")))
    table.add_row("status", str(row.get("status")))
    table.add_row("flow version", str(row.get("flow_version")))
    table.add_row("started", when(row.get("started_at"), millis=True))
    table.add_row("stopped", when(row.get("stopped_at"), millis=True))
    table.add_row("input", json.dumps(row.get("input"), ensure_ascii=False))
    if row.get("status") == "SUCCEEDED":
        table.add_row("output", json.dumps(row.get("output"), ensure_ascii=False))
    table.add_row("error", str(row.get("error") or "-"))
    table.add_row("cause", str(row.get("cause") or "-"))
    table.add_row("history", f"{row.get('history_events')} events")
    out().print(table)


@app.command("history")
def history(
    ctx: typer.Context,
    execution_id: ExecutionId,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of the events, "
                                          "as Step Functions' GetExecutionHistory.")] = False,
) -> None:
    """The events of an execution: states entered and exited, tasks, Map iterations..."""
    events: list[dict[str, Any]] = []
    with _session.client(ctx) as client:
        while True:
            page = client.execution_history(execution_id, after=events[-1]["id"] if events
                                            else 0)  # fmt: skip
            events.extend(page)
            if len(page) < 1000:
                break
    if as_json:
        echo(json.dumps(events, ensure_ascii=False))
        return
    table = Table("id", "time", "type", "details", box=None)
    for event in events:
        table.add_row(str(event.get("id")), when(event.get("timestamp"), millis=True),
                      str(event.get("type")), _details(event))  # fmt: skip
    out().print(table)


def _details(event: dict[str, Any]) -> str:
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), None)
    if not isinstance(details, dict):
        return ""
    if "name" in details:
        return str(details["name"])
    parts = [f"{k}={v}" for k, v in details.items() if k in ("error", "index", "resource")]
    text = " ".join(parts) or json.dumps(details, ensure_ascii=False)
    return text if len(text) <= 100 else text[:97] + "..."


@app.command("stop")
def stop(
    ctx: typer.Context,
    execution_id: ExecutionId,
    error_name: Annotated[str | None, typer.Option("--error", help="Error to record.")] = None,
    cause: Annotated[str | None, typer.Option(help="Cause to record.")] = None,
) -> None:
    """Abort a running execution (ABORTED)."""
    with _session.client(ctx) as client:
        row = client.stop_execution(execution_id, error_name, cause)
    echo(f"{row.get('id')} {row.get('status')}")


@app.command("rm")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Flow name.")]) -> None:
    """Delete a flow with its versions and executions (refused while one is running)."""
    with _session.client(ctx) as client:
        client.delete_flow(name)
    echo(f"removed flow {name}")
