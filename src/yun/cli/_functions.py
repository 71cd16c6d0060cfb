"""`yun ls`, `yun versions NAME`, `yun rm NAME`: what is deployed."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, number, out, when


def list_functions(ctx: typer.Context) -> None:
    """List deployed functions."""
    with _session.client(ctx) as client:
        functions = client.functions()
    table = Table("name", "latest version", "memory", "updated", box=None)
    for fn in functions:
        table.add_row(
            str(fn.get("name")),
            number(fn.get("latest_version")),
            number(fn.get("memory"), " MiB"),
            when(fn.get("updated_at")),
        )
    out().print(table)


def versions(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Function name.")]
) -> None:
    """List the versions of a function, oldest first."""
    with _session.client(ctx) as client:
        rows = client.versions(name)
    table = Table("version", "created", "code", "layer", "handler", "memory", "timeout", box=None)
    for version in rows:
        manifest: dict[str, Any] = version.get("manifest") or {}
        table.add_row(
            number(version.get("number")),
            when(version.get("created_at")),
            _short(version.get("code_hash")),
            _short(version.get("layer_hash")),
            str(manifest.get("handler", "-")),
            number(manifest.get("memory"), " MiB"),
            number(manifest.get("timeout"), " s"),
        )
    out().print(table)


def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Function name.")]) -> None:
    """Delete a function with all its versions and aliases."""
    with _session.client(ctx) as client:
        client.delete(name)
    echo(f"removed {name}")


def _short(digest: object) -> str:
    return str(digest)[:12] if digest else "-"
