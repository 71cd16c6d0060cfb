"""The `yun` command line: Typer commands over `yun.Client`, one small module per concept."""

from __future__ import annotations

from yun.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `yun` console script."""
    app()
