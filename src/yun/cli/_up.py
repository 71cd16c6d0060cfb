"""`yun up`: run the whole platform in this process (the embedded profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def up(
    host: Annotated[
        str | None,
        typer.Option(envvar="YUN_HOST", show_default="127.0.0.1", help="Address to listen on."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            envvar="YUN_PORT", min=1, max=65535, show_default="8080", help="Port to listen on."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="YUN_DATA_DIR",
            file_okay=False,
            show_default=".yun",
            help="Where state, code and keys are kept.",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Deploy the demo functions on start.")
    ] = False,
) -> None:
    """Start Yun: API, gateway and node agent, until Ctrl-C."""
    # Imported here: the server pulls in uvicorn, SQLAlchemy and the sandbox, which no other
    # command needs.
    from yun.server import run

    # None means "not given": the server's config layers its own defaults and YUN_* values
    # under the flags, so a future config file is not overridden by our defaults.
    run(host=host, port=port, data_dir=data_dir, demo=demo)
