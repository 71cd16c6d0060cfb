"""`yun invoke NAME[:QUALIFIER]`: call a function once and print what it returned."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from yun.cli import _session
from yun.cli._console import echo, error, pretty_body


def invoke(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="NAME[:ALIAS|:VERSION]", help="Function, with a qualifier.")
    ],
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="The event, as JSON text.")
    ] = None,
    data_file: Annotated[
        str | None,
        typer.Option("--data-file", metavar="FILE|-", help="Read the event from FILE or stdin."),
    ] = None,
    run_async: Annotated[
        bool, typer.Option("--async", help="Queue it; print the invocation id (see "
                           "`yun invocation ID`).")
    ] = False,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="With --async: the same key within "
                                 "24 h gives the same invocation.")
    ] = None,
) -> None:
    """Invoke a function synchronously, or with --async queue it. Without --data the event
    is `{}`."""
    name, sep, qualifier = target.partition(":")
    if not name or (sep and not qualifier):
        raise typer.BadParameter(
            f"must be NAME, NAME:ALIAS or NAME:VERSION, was: {target!r}", param_hint="NAME"
        )
    event = _event(data, data_file)
    if run_async:
        with _session.client(ctx) as client:
            invocation = client.invoke_async(name, event, qualifier or None, idempotency_key)
        echo(f"queued {invocation}")
        return
    with _session.client(ctx) as client:
        result = client.invoke(name, event, qualifier or None)

    if result.function_error is not None:
        echo(pretty_body(result.body), stderr=True)
        echo(f"activation {result.activation_id or '?'}: {result.function_error}", stderr=True)
        raise typer.Exit(1)
    if result.status_code >= 400:
        error(_error_message(result.body, result.status_code))
        raise typer.Exit(1)
    echo(pretty_body(result.body))


def _event(data: str | None, data_file: str | None) -> object:
    if data is not None and data_file is not None:
        raise typer.BadParameter("give --data or --data-file, not both", param_hint="--data")
    if data_file is not None:
        hint = "--data-file"
        try:
            text = sys.stdin.read() if data_file == "-" else Path(data_file).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"cannot read {data_file}: {exc}", param_hint=hint) from exc
    elif data is not None:
        hint, text = "--data", data
    else:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 80 else f"{text[:77]}..."
        raise typer.BadParameter(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {shown!r}",
            param_hint=hint,
        ) from exc


def _error_message(body: bytes, status: int) -> str:
    """The platform's error message (`{"error": {...}}`), or the raw body when it has none."""
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        text = body.decode("utf-8", errors="replace").strip()
        return f"HTTP {status}: {text[:200]}" if text else f"HTTP {status}"
