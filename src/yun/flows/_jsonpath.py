"""JSONPath, the subset Amazon States Language uses, with its three roots.

`$...` reads the state's input, `$$...` the context object and `$name...` a workflow
variable. Steps: `.name`, `['name']`, `[0]`, `[-1]`, `[*]`, `.*`, `[1:5]`, `[0,2]`,
`..name` and filters `[?(@.status == 0)]`. A path with only names and indexes is *definite*
and yields one value (missing → `PathNotFound`); any other yields the list of matches, as
Jayway JsonPath (which Step Functions uses) does: `$.items[*]` on `{}` is `[]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from yun.flows._json import Json, equal, is_number

Root = Literal["input", "context", "variable"]

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


class PathSyntaxError(ValueError):
    """The text is not a JSONPath this engine understands."""


class PathNotFound(LookupError):
    """A definite path named something the data does not have."""


@dataclass(frozen=True)
class Step:
    """One step: `kind` is key, index, wildcard, slice, union, filter or descend."""

    kind: str
    key: str | int | None = None
    slice: tuple[int | None, int | None, int | None] = (None, None, None)
    union: tuple[str | int, ...] = ()
    filter: Filter | None = None


@dataclass(frozen=True)
class Filter:
    """`@.path op literal` (op "exists" when there is no comparison), or && / || of two."""

    op: str
    path: tuple[Step, ...] = ()
    literal: Json = None
    left: Filter | None = None
    right: Filter | None = None


@dataclass(frozen=True)
class JsonPath:
    text: str
    root: Root
    variable: str | None
    steps: tuple[Step, ...]

    @property
    def definite(self) -> bool:
        return all(s.kind in ("key", "index") for s in self.steps)

    @property
    def is_root(self) -> bool:
        return not self.steps

    def find(
        self, data: Json, context: Json = None, variables: Callable[[str], Json] | None = None
    ) -> Json:
        """The value (definite path) or list of matches (otherwise); `PathNotFound` if absent.

        `variables(name)` looks a variable up and raises `PathNotFound` when there is none.
        """
        if self.root == "context":
            start = context
        elif self.root == "variable":
            if variables is None or self.variable is None:
                raise PathNotFound(self.text)
            start = variables(self.variable)
        else:
            start = data
        if self.definite:
            return _walk_definite(start, self.steps)
        return _walk(start, self.steps)

    def put(self, data: Json, value: Json) -> Json:
        """`data` with `value` stored at this path (ResultPath); creates missing objects.

        Raises `PathNotFound` when an intermediate value is not an object (or the index is
        outside a list). `data` is not modified.
        """
        if not self.steps:
            return value
        return _put(data, self.steps, value)


def parse_path(text: str) -> JsonPath:
    """Parse `text`; raises `PathSyntaxError` naming the problem."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"a path must start with '$', was: {text!r}")
    variable: str | None = None
    if text.startswith("$$"):
        root: Root = "context"
        pos = 2
    else:
        match = _VARIABLE.match(text, 1)
        if match:
            root, variable, pos = "variable", match.group(0), match.end()
        else:
            root, pos = "input", 1
    steps, pos = _parse_steps(text, pos)
    if pos != len(text):
        raise PathSyntaxError(f"unexpected {text[pos:]!r} in path {text!r}")
    return JsonPath(text, root, variable, tuple(steps))


def _parse_steps(text: str, pos: int, stop: str = "") -> tuple[list[Step], int]:
    steps: list[Step] = []
    while pos < len(text) and text[pos] not in stop:
        if text.startswith("..", pos):
            pos += 2
            if pos < len(text) and text[pos] == "[":
                steps.append(Step("descend"))
                continue
            name, pos = _read_name(text, pos, stop)
            steps.append(Step("descend", None if name == "*" else name))
        elif text[pos] == ".":
            name, pos = _read_name(text, pos + 1, stop)
            steps.append(Step("wildcard") if name == "*" else Step("key", name))
        elif text[pos] == "[":
            step, pos = _parse_bracket(text, pos + 1)
            steps.append(step)
        else:
            raise PathSyntaxError(f"unexpected {text[pos]!r} at position {pos} in {text!r}")
    return steps, pos


def _read_name(text: str, pos: int, stop: str) -> tuple[str, int]:
    end = pos
    while end < len(text) and text[end] not in ".[" + stop:
        end += 1
    name = text[pos:end]
    if not name or name != name.strip():
        raise PathSyntaxError(f"a name is missing or has spaces at position {pos} in {text!r}")
    return name, end


def _parse_bracket(text: str, pos: int) -> tuple[Step, int]:
    close = _find_close(text, pos)
    inner = text[pos:close].strip()
    after = close + 1
    if inner == "*":
        return Step("wildcard"), after
    if inner.startswith("?(") and inner.endswith(")"):
        return Step("filter", filter=_parse_filter(inner[2:-1].strip(), text)), after
    if inner[:1] in "'\"":
        names = [_unquote(part.strip(), text) for part in _split_top(inner, ",")]
        if len(names) == 1:
            return Step("key", names[0]), after
        return Step("union", union=tuple(names)), after
    if ":" in inner:
        parts = inner.split(":")
        if len(parts) > 3:
            raise PathSyntaxError(f"bad slice [{inner}] in {text!r}")
        try:
            nums = [int(p) if p.strip() else None for p in parts] + [None] * (3 - len(parts))
        except ValueError as exc:
            raise PathSyntaxError(f"bad slice [{inner}] in {text!r}") from exc
        if nums[2] == 0:
            raise PathSyntaxError(f"a slice step cannot be 0 in {text!r}")
        return Step("slice", slice=(nums[0], nums[1], nums[2])), after
    try:
        indexes = [int(p) for p in inner.split(",")]
    except ValueError as exc:
        raise PathSyntaxError(f"bad index [{inner}] in {text!r}") from exc
    if len(indexes) == 1:
        return Step("index", indexes[0]), after
    return Step("union", union=tuple(indexes)), after


def _find_close(text: str, pos: int) -> int:
    quote: str | None = None
    depth = 0
    i = pos
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0 and ch == "]":
                return i
            depth -= 1
        i += 1
    raise PathSyntaxError(f"unclosed '[' in {text!r}")


def _split_top(text: str, sep: str) -> list[str]:
    parts, quote, start, i = [], None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _unquote(token: str, text: str) -> str:
    if len(token) < 2 or token[0] not in "'\"" or token[-1] != token[0]:
        raise PathSyntaxError(f"bad quoted name {token!r} in {text!r}")
    quote = token[0]
    # Only the quote itself is escaped: Jayway keeps every other backslash as it is.
    return token[1:-1].replace("\\" + quote, quote)


_FILTER_OPS = ("==", "!=", "<=", ">=", "<", ">")


def _parse_filter(expr: str, text: str) -> Filter:
    for joiner in ("||", "&&"):
        parts = _split_top(expr.replace(joiner, "\0"), "\0")
        if len(parts) > 1:
            left = _parse_filter(joiner.join(parts[:-1]).strip(), text)
            return Filter(joiner, left=left, right=_parse_filter(parts[-1].strip(), text))
    if expr.startswith("(") and expr.endswith(")"):
        return _parse_filter(expr[1:-1].strip(), text)
    if not expr.startswith("@"):
        raise PathSyntaxError(f"a filter must compare '@...', was {expr!r} in {text!r}")
    for op in _FILTER_OPS:
        at = _find_op(expr, op)
        if at >= 0:
            lhs, rhs = expr[:at].strip(), expr[at + len(op) :].strip()
            steps, _ = _parse_steps(lhs, 1)
            return Filter(op, path=tuple(steps), literal=_filter_literal(rhs, text))
    steps, _ = _parse_steps(expr, 1)
    return Filter("exists", path=tuple(steps))


def _find_op(expr: str, op: str) -> int:
    quote: str | None = None
    for i, ch in enumerate(expr):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif expr.startswith(op, i):
            # "<" must not match the first half of "<=" (the longer ops are tried first).
            return i
    return -1


def _filter_literal(token: str, text: str) -> Json:
    if token[:1] in "'\"":
        return _unquote(token, text)
    if token in ("true", "false"):
        return token == "true"
    if token == "null":
        return None
    if _NUMBER.fullmatch(token):
        number = float(token)
        return int(number) if number.is_integer() and "." not in token else number
    raise PathSyntaxError(f"bad literal {token!r} in filter of {text!r}")


def _walk_definite(value: Json, steps: tuple[Step, ...]) -> Json:
    for step in steps:
        if step.kind == "key" and isinstance(value, dict) and step.key in value:
            value = value[step.key]
        elif step.kind == "index" and isinstance(value, list) and isinstance(step.key, int):
            index = step.key if step.key >= 0 else len(value) + step.key
            if not 0 <= index < len(value):
                raise PathNotFound(step.key)
            value = value[index]
        else:
            raise PathNotFound(step.key)
    return value


def _walk(value: Json, steps: tuple[Step, ...]) -> list[Json]:
    current = [value]
    for step in steps:
        current = [child for item in current for child in _apply(item, step)]
    return current


def _apply(value: Json, step: Step) -> list[Json]:
    kind = step.kind
    if kind == "key":
        return [value[step.key]] if isinstance(value, dict) and step.key in value else []
    if kind == "index":
        if (
            isinstance(value, list)
            and isinstance(step.key, int)
            and -len(value) <= step.key < len(value)
        ):
            return [value[step.key]]
        return []
    if kind == "wildcard":
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if kind == "slice":
        if not isinstance(value, list):
            return []
        start, stop, stride = step.slice
        return value[slice(start, stop, stride)]
    if kind == "union":
        found: list[Json] = []
        for key in step.union:
            found.extend(_apply(value, Step("index" if isinstance(key, int) else "key", key)))
        return found
    if kind == "filter":
        items = (
            value
            if isinstance(value, list)
            else list(value.values())
            if isinstance(value, dict)
            else []
        )
        assert step.filter is not None
        flt = step.filter
        return [item for item in items if _matches(item, flt)]
    return _descend(value, step.key)


def _descend(value: Json, name: str | int | None) -> list[Json]:
    found: list[Json] = []
    children: list[Json] = []
    if isinstance(value, dict):
        if name is None:
            found.extend(value.values())
        elif name in value:
            found.append(value[name])
        children = list(value.values())
    elif isinstance(value, list):
        if name is None:
            found.extend(value)
        children = value
    for child in children:
        found.extend(_descend(child, name))
    return found


def _matches(item: Json, flt: Filter) -> bool:
    if flt.op == "&&":
        return (
            flt.left is not None
            and flt.right is not None
            and _matches(item, flt.left)
            and _matches(item, flt.right)
        )
    if flt.op == "||":
        return (
            flt.left is not None
            and flt.right is not None
            and (_matches(item, flt.left) or _matches(item, flt.right))
        )
    try:
        value = _walk_definite(item, flt.path)
    except PathNotFound:
        return False
    if flt.op == "exists":
        return True
    if flt.op == "==":
        return equal(value, flt.literal)
    if flt.op == "!=":
        return not equal(value, flt.literal)
    comparable = (is_number(value) and is_number(flt.literal)) or (
        isinstance(value, str) and isinstance(flt.literal, str)
    )
    if not comparable:
        return False
    compare: Mapping[str, Callable[[Json, Json], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return compare[flt.op](value, flt.literal)


def _put(data: Json, steps: tuple[Step, ...], value: Json) -> Json:
    step, rest = steps[0], steps[1:]
    if step.kind == "key" and isinstance(step.key, str):
        if not isinstance(data, dict):
            raise PathNotFound(step.key)
        copy = dict(data)
        child = copy.get(step.key, {}) if rest else None
        copy[step.key] = _put(child, rest, value) if rest else value
        return copy
    if step.kind == "index" and isinstance(step.key, int) and isinstance(data, list):
        if not -len(data) <= step.key < len(data):
            raise PathNotFound(step.key)
        items = list(data)
        items[step.key] = _put(items[step.key], rest, value) if rest else value
        return items
    raise PathNotFound(step.key)
