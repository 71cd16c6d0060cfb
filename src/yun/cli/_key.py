"""`yun key create|ls|revoke|rotate`: API keys of this key's tenant (an admin: any tenant's).

A new key goes to stdout alone, so `KEY=$(yun key create)` captures it; what to do with it
goes to stderr. The server never shows it again.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, out, when
from yun.core.durations import format_duration, parse_duration

app = typer.Typer(help="Create, list, revoke and rotate API keys.", no_args_is_help=True)

_Tenant = Annotated[
    str | None,
    typer.Option("--tenant", "-t", help="Another tenant's keys (admin keys only)."),
]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", "-n", help="What the key is for.")] = None,
    tenant: _Tenant = None,
) -> None:
    """Create a key and print it once."""
    with _session.client(ctx) as client:
        made = client.create_key(name, tenant)
    _shown_once(made)


@app.command("ls")
def list_keys(ctx: typer.Context, tenant: _Tenant = None) -> None:
    """List active keys (never their secret)."""
    with _session.client(ctx) as client:
        keys = client.keys(tenant)
    table = Table("id", "name", "prefix", "tenant", "created", "expires", box=None)
    for key in keys:
        name = str(key.get("name")) + (" (admin)" if key.get("admin") else "")
        table.add_row(str(key.get("id")), name, f"{key.get('prefix') or '?'}…",
                      str(key.get("tenant")), when(key.get("created_at")),
                      when(key.get("expires_at")))  # fmt: skip
    out().print(table)


@app.command("revoke")
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Stop a key now."""
    with _session.client(ctx) as client:
        client.revoke_key(key_id)
    echo(f"revoked key {key_id}")


def _grace(value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    grace: Annotated[str, typer.Option(
        "--grace", help="How long the old key keeps working, e.g. 10m (at most 7d).")] = "0",
) -> None:  # fmt: skip
    """Replace a key with a new one (same name and tenant); the old one stops now, or after
    --grace."""
    seconds = _grace(grace)
    with _session.client(ctx) as client:
        made = client.rotate_key(key_id, seconds)
    _shown_once(made)
    if seconds:
        echo(f"key {key_id} keeps working for {format_duration(seconds)}", stderr=True)
    else:
        echo(f"key {key_id} is revoked", stderr=True)


def _shown_once(made: dict[str, Any]) -> None:
    echo(str(made.get("key")))
    echo(f"created key {made.get('id')} ({made.get('name')}) for tenant {made.get('tenant')}: "
         f"store it now, it is not shown again", stderr=True)  # fmt: skip
