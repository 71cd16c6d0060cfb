"""The root `yun` group: registers the commands and maps errors to exit codes in one place."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from yun.cli import (
    _alias,
    _async,
    _bucket,
    _config,
    _deploy,
    _flow,
    _functions,
    _invoke,
    _key,
    _logs,
    _records,
    _tenant,
    _top,
    _trigger,
    _up,
)
from yun.cli._console import error
from yun.core.errors import YunError


class _YunGroup(TyperGroup):
    """Every `YunError` (including the SDK's `ApiError`) becomes `error: message`, exit 1.

    Usage errors keep Click's exit code 2; anything else is a bug and keeps its traceback.
    """

    # Typer builds a `typer.Context` for every command; its base class lives in Typer's private
    # vendored Click, which we do not import.
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except YunError as exc:
            error(exc.message)
            raise typer.Exit(1) from exc


app = typer.Typer(
    cls=_YunGroup,
    name="yun",
    help="Yun (云): a self-hosted serverless platform.",
    no_args_is_help=True,
    add_completion=False,
)

app.command("up")(_up.up)
app.command("deploy")(_deploy.deploy)
app.command("ls")(_functions.list_functions)
app.command("versions")(_functions.versions)
app.command("rm")(_functions.remove)
app.command("invoke")(_invoke.invoke)
app.command("activations")(_records.activations)
app.command("logs")(_logs.logs)
app.command("top")(_top.top)
app.command("invocation")(_async.invocation)
app.add_typer(_alias.app, name="alias")
app.add_typer(_config.app, name="config")
app.add_typer(_tenant.app, name="tenant")
app.add_typer(_key.app, name="key")
app.add_typer(_flow.app, name="flow")
app.add_typer(_async.app, name="dlq")
app.add_typer(_trigger.app, name="trigger")
app.add_typer(_bucket.app, name="bucket")
