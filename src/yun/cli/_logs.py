"""`yun logs NAME [--follow]`: the lines functions wrote to stdout and stderr."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from yun.cli import _session
from yun.cli._console import echo, when

POLL_SECONDS = 0.5
PAGE = 200

# Replaced in tests, which must not sleep.
sleep = time.sleep


def logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Function name.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    activation: Annotated[
        str | None, typer.Option("--activation", help="Only this activation's lines.")
    ] = None,
) -> None:
    """Print log lines, oldest first: TIME ACTIVATION STREAM LINE."""
    after = 0
    with _session.client(ctx) as client:
        try:
            while True:
                page = client.logs(name, after=after, limit=PAGE, activation=activation)
                for entry in page:
                    echo(_format(entry))
                    after = max(after, int(entry.get("seq", after)))
                if len(page) >= PAGE:
                    continue  # more are waiting: fetch them before deciding to stop or sleep
                if not follow:
                    return
                sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            # Ctrl-C is how --follow ends: a normal exit, not Click's "Aborted!".
            return


def _format(entry: dict[str, Any]) -> str:
    line = str(entry.get("line", "")).rstrip("\n")
    return (
        f"{when(entry.get('time'), millis=True)} {entry.get('activation_id')} "
        f"{entry.get('stream')} {line}"
    )
