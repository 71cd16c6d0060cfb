"""`yun config show`: the settings the client would use, and where each one came from."""

from __future__ import annotations

import typer

from yun.cli import _session
from yun.cli._console import echo

app = typer.Typer(help="Inspect the client configuration.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the effective URL, data dir and API key source (never the key itself)."""
    with _session.client(ctx) as client:
        settings = client.settings
    key = masked(settings.api_key) if settings.api_key else "(none)"
    echo(f"url       {settings.url}  ({settings.url_source})")
    echo(f"data dir  {settings.data_dir}  ({settings.data_dir_source})")
    echo(f"api key   {key}  ({settings.api_key_source})")


def masked(key: str) -> str:
    """The first 8 characters, and never more than half of a short key."""
    return f"{key[: min(8, len(key) // 2)]}…"
