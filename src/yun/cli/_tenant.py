"""`yun tenant create|ls|show|disable|enable|quota`: tenants and their quotas (admin key)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, number, out, when

app = typer.Typer(help="Manage tenants and their quotas (needs an admin key).",
                  no_args_is_help=True)  # fmt: skip

_QUOTA_FORM = "a quota must be KEY=VALUE, e.g. functions=10 (VALUE 'default' resets it)"
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_NUMBER = re.compile(r"\d[\d_]*(\.\d+)?")


def parse_quotas(specs: list[str], *, allow_reset: bool = True) -> dict[str, float | None]:
    """`["functions=10", "invocations_per_second=2.5", "memory_mb=default"]` →
    `{"functions": 10, "invocations_per_second": 2.5, "memory_mb": None}`. Names and ranges
    are the server's to check; here only the form. `BadParameter` names the bad text."""
    quotas: dict[str, float | None] = {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not _KEY.fullmatch(key) or not text:
            raise _bad(f"{_QUOTA_FORM}, was: {spec!r}")
        if key in quotas:
            raise _bad(f"quota {key} is given twice")
        if text == "default":
            if not allow_reset:
                raise _bad(f"a new tenant starts with the defaults; leave out {key}=default")
            quotas[key] = None
        elif _NUMBER.fullmatch(text):
            value = float(text.replace("_", ""))
            quotas[key] = int(value) if "." not in text else value
        else:
            raise _bad(f"quota {key} must be a number or 'default', was: {text!r}")
    return quotas


def _bad(message: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint="KEY=VALUE")


_QuotaSpecs = Annotated[
    list[str] | None,
    typer.Option("--quota", "-q", metavar="KEY=VALUE",
                 help="Override a default quota (repeatable), e.g. functions=10."),
]  # fmt: skip


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits and '-'.")],
    quota: _QuotaSpecs = None,
) -> None:
    """Create a tenant (then give it a key: `yun key create --tenant NAME`)."""
    overrides = {k: v for k, v in parse_quotas(quota or [], allow_reset=False).items()
                 if v is not None}  # fmt: skip
    with _session.client(ctx) as client:
        tenant = client.create_tenant(name, overrides)
    echo(f"created tenant {tenant.get('name')} (uid {tenant.get('uid')})")
    _print_overrides(tenant)


@app.command("ls")
def list_tenants(ctx: typer.Context) -> None:
    """List tenants."""
    with _session.client(ctx) as client:
        tenants = client.tenants()
    table = Table("name", "uid", "status", "created", "quota overrides", box=None)
    for tenant in tenants:
        table.add_row(str(tenant.get("name")), number(tenant.get("uid")), _status(tenant),
                      when(tenant.get("created_at")),
                      _overrides(tenant.get("overrides")))  # fmt: skip
    out().print(table)


@app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Tenant name.")]) -> None:
    """A tenant's status, usage and quotas (overridden ones marked with *)."""
    with _session.client(ctx) as client:
        tenant = client.tenant(name)
    echo(f"name      {tenant.get('name')}")
    echo(f"uid       {tenant.get('uid')}")
    echo(f"status    {_status(tenant)}")
    echo(f"created   {when(tenant.get('created_at'))}")
    usage: dict[str, Any] = tenant.get("usage") or {}
    echo(f"usage     {number(usage.get('functions'))} functions, "
         f"{number(usage.get('code_bytes'))} bytes of code, "
         f"{number(usage.get('instances'))} instances, "
         f"{number(usage.get('memory_mb'), ' MiB')} in use")  # fmt: skip
    table = Table("quota", "limit", box=None)
    overridden = tenant.get("overrides") or {}
    for key, value in (tenant.get("quotas") or {}).items():
        table.add_row(key, number(value) + (" *" if key in overridden else ""))
    out().print(table)


@app.command("disable")
def disable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Tenant name.")]
) -> None:
    """Refuse the tenant's keys and invocations, and stop its instances (data stays)."""
    with _session.client(ctx) as client:
        client.update_tenant(name, disabled=True)
    echo(f"disabled tenant {name}: its keys are refused until `yun tenant enable {name}`")


@app.command("enable")
def enable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Tenant name.")]
) -> None:
    """Let a disabled tenant's keys work again."""
    with _session.client(ctx) as client:
        client.update_tenant(name, disabled=False)
    echo(f"enabled tenant {name}")


@app.command("quota")
def quota(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tenant name.")],
    specs: Annotated[list[str], typer.Argument(
        metavar="KEY=VALUE...", help="Quotas to set; VALUE 'default' restores the default.")],
) -> None:  # fmt: skip
    """Set (or reset) quotas of a tenant; the others keep their values."""
    changes = parse_quotas(specs)
    with _session.client(ctx) as client:
        tenant = client.update_tenant(name, quotas=changes)
    quotas: dict[str, Any] = tenant.get("quotas") or {}
    for key in changes:
        echo(f"{name}: {key} = {number(quotas.get(key))}"
             + ("" if changes[key] is not None else " (default)"))  # fmt: skip


def _status(tenant: dict[str, Any]) -> str:
    return "disabled" if tenant.get("disabled") else "enabled"


def _overrides(overrides: Any) -> str:
    if not overrides:
        return "-"
    return ", ".join(f"{k}={number(v)}" for k, v in dict(overrides).items())


def _print_overrides(tenant: dict[str, Any]) -> None:
    overrides = tenant.get("overrides")
    if overrides:
        echo(f"quota overrides: {_overrides(overrides)}")
