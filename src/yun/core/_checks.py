"""The checks every manifest section shares: where a value came from, and errors that name
the thing, the bad value and that place."""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from yun.core.durations import parse_duration
from yun.core.errors import ManifestError

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Where:
    """Maps key paths like ("scale", "min") to source lines, so errors can say where."""

    source: str
    values: dict[Path, int] = field(default_factory=dict)
    keys: dict[Path, int] = field(default_factory=dict)
    env_text: dict[str, str] = field(default_factory=dict)  # see manifest._TEXT_TAGS

    def of(self, *path: str, key: bool = False) -> str:
        """Where the value (or `key`) at `path` is, else where its nearest located parent is."""
        if key and path in self.keys:
            return f"{self.source} line {self.keys[path]}"
        for n in range(len(path), -1, -1):
            if path[:n] in self.values:
                return f"{self.source} line {self.values[path[:n]]}"
        return self.source


_REPR = reprlib.Repr()  # bounded: a YAML alias bomb must not make the error message explode
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 60, 60


def show(value: object) -> str:
    try:
        return _REPR.repr(value)
    except ValueError:  # an int past sys.get_int_max_str_digits()
        return f"<{type(value).__name__} too large to show>"


def key_text(key: object) -> str:
    return key if isinstance(key, str) else show(key)


def fail(message: str, at: str) -> ManifestError:
    return ManifestError(f"{message} ({at})")


def check_keys(
    raw: Mapping[str, object], known: tuple[str, ...], where: Where, path: Path, noun: str = "key"
) -> None:
    for key in raw:
        if key in known:
            continue
        inside = f" in {'.'.join(path)}" if path else ""
        at = where.of(*path, key_text(key), key=True)
        message = f"unknown {noun} {show(key)}{inside} ({at});"
        close = difflib.get_close_matches(key_text(key), known, n=1)
        if close:
            message += f" did you mean {close[0]!r}?"
        raise ManifestError(f"{message} known {noun}s: {', '.join(known)}")


def opt(raw: Mapping[str, object], key: str, default: object) -> object:
    """Absent and null both mean "use the default" (`env:` with nothing under it is common)."""
    value = raw.get(key)
    return default if value is None else value


def integer(value: object, what: str, lo: int, hi: int | None, unit: str, where: Where) -> int:
    bounds = f"{lo}..{hi}{unit}" if hi is not None else f">= {lo}{unit}"
    at = where.of(*what.split("."))
    if not isinstance(value, int) or isinstance(value, bool):  # True is an int to Python
        raise fail(f"{what} must be an integer {bounds}, was: {show(value)}", at)
    if value < lo or (hi is not None and value > hi):
        raise fail(f"{what} must be {bounds}, was: {show(value)}", at)
    return value


def seconds_of(value: object, what: str, at: str) -> float:
    """Any number (range-checked by the caller, NaN and inf included) or a duration string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        try:
            seconds = parse_duration(value)
        except ValueError:
            message = f"{what} must be a duration like 500ms, 2s, 10m, was: {show(value)}"
            raise fail(message, at) from None
    return seconds


