"""`yun up`: run the whole platform in this process (the embedded profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def up(
    host: Annotated[
        str, typer.Option(envvar="YUN_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="YUN_PORT", min=1, max=65535, help="Port to listen on.")
    ] = 8080,
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="YUN_DATA_DIR", file_okay=False, help="Where state, code and keys are kept."
        ),
    ] = Path(".yun"),
    demo: Annotated[
        bool, typer.Option("--demo", help="Deploy the demo functions on start.")
    ] = False,
) -> None:
    """Start Yun: API, gateway and node agent, until Ctrl-C."""
    # Imported here: the server pulls in uvicorn, SQLAlchemy and the sandbox, which no other
    # command needs.
    from yun.server import run

    run(host=host, port=port, data_dir=data_dir, demo=demo)
