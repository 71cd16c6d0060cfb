"""`yun alias set|ls|rm`: named pointers to versions, with optional weighted traffic splits."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, out

app = typer.Typer(help="Point aliases at versions and split traffic.", no_args_is_help=True)

_WEIGHT_FORM = "--weight must be VERSION=PERCENT, e.g. 3=10"


@app.command("set")
def set_alias(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Function name.")],
    alias: Annotated[str, typer.Argument(help="Alias name, e.g. prod.")],
    version: Annotated[int, typer.Argument(min=1, help="Version that takes the rest.")],
    weight: Annotated[
        list[str] | None,
        typer.Option(
            "--weight",
            metavar="VERSION=PERCENT",
            help="Send PERCENT of calls to another VERSION (repeatable).",
        ),
    ] = None,
) -> None:
    """Create or move an alias."""
    weights = parse_weights(weight or [], version)
    with _session.client(ctx) as client:
        result = client.set_alias(name, alias, version, weights or None)
    echo(f"{name}:{alias} → {_describe(result.get('version', version), result.get('weights'))}")


@app.command("ls")
def list_aliases(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Function name.")]
) -> None:
    """List the aliases of a function."""
    with _session.client(ctx) as client:
        aliases = client.aliases(name)
    table = Table("alias", "version", "weights", box=None)
    for entry in aliases:
        table.add_row(
            str(entry.get("name")), str(entry.get("version")), _weights(entry.get("weights"))
        )
    out().print(table)


@app.command("rm")
def remove_alias(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Function name.")],
    alias: Annotated[str, typer.Argument(help="Alias name.")],
) -> None:
    """Delete an alias (the versions stay)."""
    with _session.client(ctx) as client:
        client.delete_alias(name, alias)
    echo(f"removed alias {name}:{alias}")


def parse_weights(specs: list[str], target: int) -> dict[int, int]:
    """`["3=10", "4=5"]` → `{3: 10, 4: 5}`; a `BadParameter` naming the bad text otherwise."""
    weights: dict[int, int] = {}
    for spec in specs:
        version_text, sep, percent_text = spec.partition("=")
        try:
            if not sep:
                raise ValueError
            other, percent = int(version_text), int(percent_text)
        except ValueError:
            raise _bad(f"{_WEIGHT_FORM}, was: {spec!r}") from None
        if other < 1:
            raise _bad(f"version must be 1 or more, was: {other} (in {spec!r})")
        if not 0 <= percent <= 100:
            raise _bad(f"percent must be 0..100, was: {percent} (in {spec!r})")
        if other == target:
            raise _bad(f"version {other} is the alias target; weights are for other versions")
        if other in weights:
            raise _bad(f"version {other} is given twice")
        weights[other] = percent
    if (total := sum(weights.values())) > 100:
        raise _bad(f"weights must add up to 100 or less, was: {total}")
    return weights


def _bad(message: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint="--weight")


def _describe(version: object, weights: Any) -> str:
    text = f"version {version}"
    return f"{text} ({_weights(weights)})" if weights else text


def _weights(weights: Any) -> str:
    if not weights:
        return "-"
    return ", ".join(f"version {v}: {p}%" for v, p in dict(weights).items())
