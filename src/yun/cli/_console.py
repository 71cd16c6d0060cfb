"""Output helpers shared by the commands: consoles, the error line, and value formatting.

Consoles are made per call, not at import: Rich fixes the colour system when a console is
built, so a module-level console would keep terminal colours after stdout is redirected.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from rich.console import Console
from rich.text import Text

# Piped tables should keep one row per line rather than wrap cells at Rich's default 80.
_PIPE_WIDTH = 200


def out() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else _PIPE_WIDTH)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """Print `error: message` in red on stderr (the one error format of every command)."""
    err().print(Text(f"error: {message}", style="red"), soft_wrap=True)


def echo(text: str, *, stderr: bool = False) -> None:
    """Write plain text, unwrapped and without markup: safe for JSON and users' log lines."""
    stream = sys.stderr if stderr else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def pretty_body(body: bytes) -> str:
    """A response body as text: indented when it is JSON, else decoded as it is."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body.decode("utf-8", errors="replace")


def when(value: object, *, millis: bool = False) -> str:
    """A timestamp (epoch seconds or ISO 8601) in local time; `-` when absent."""
    if value is None or value == "":
        return "-"
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value).astimezone()
        else:
            moment = datetime.fromisoformat(str(value)).astimezone()
    except (ValueError, OverflowError, OSError):
        return str(value)
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if millis else text[:-7]


def number(value: object, unit: str = "") -> str:
    """A measurement for a table cell; `-` when the server has none."""
    if value is None:
        return "-"
    text = f"{value:.1f}".removesuffix(".0") if isinstance(value, float) else str(value)
    return f"{text}{unit}"
