"""How a command gets its `Client`: from the Click context in tests, else by discovery."""

from __future__ import annotations

from collections.abc import Callable

import typer

from yun.sdk._client import Client

ClientFactory = Callable[[], Client]


def client(ctx: typer.Context) -> Client:
    """The client for this command; tests pass `obj=<factory>` to `CliRunner.invoke`."""
    factory = ctx.find_root().obj
    if callable(factory):
        made = factory()
        if isinstance(made, Client):
            return made
    return Client()
