"""`yun deploy PATH`: pack a folder or file, upload it, and show the build as it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column
from rich.text import Text

from yun.cli import _session
from yun.cli._console import echo, err


def deploy(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(exists=True, help="A folder with yun.yaml, or a single .py file."),
    ],
) -> None:
    """Deploy a function; a new version is made only when the code or manifest changed."""
    # Imported here so that commands which never pack do not load the storage package.
    from yun.storage import pack

    bundle = pack(path)
    with _session.client(ctx) as client, _build_status(err()) as show:
        result = client.deploy(bundle, progress=show)
    echo(_summary(result))


def _summary(result: dict[str, Any]) -> str:
    message = result.get("message")
    if message:
        return str(message)
    name, version = result.get("function"), result.get("version")
    if result.get("created", True):
        return f"deployed {name} version {version}"
    return f"{name} is unchanged: identical to version {version}"


@contextmanager
def _build_status(console: Console) -> Iterator[Callable[[str], None]]:
    """A spinner with elapsed time and the latest build line; plain lines when not a tty."""
    if not console.is_terminal:
        yield lambda line: console.print(Text(line, style="dim"), soft_wrap=True)
        return
    progress = Progress(
        SpinnerColumn(),
        TimeElapsedColumn(),
        # markup off: pip output has brackets ("[notice]") that Rich would eat as tags.
        TextColumn(
            "{task.description}",
            markup=False,
            table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
        ),
        console=console,
        transient=True,
        expand=True,
    )
    with progress:
        task = progress.add_task("uploading", total=None)

        def show(line: str) -> None:
            lines = line.strip().splitlines()
            if lines:  # a blank line would only blank the status
                progress.update(task, description=lines[-1])

        yield show
