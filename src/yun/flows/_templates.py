"""Payload templates: Parameters, ResultSelector, ItemSelector, Assign, Arguments, Output.

A template is compiled once at deploy time into a small tree (so bad paths, intrinsics and
JSONata are definition errors) and evaluated per state visit against an `Env`.

JSONPath templates: a key ending in `.$` takes its value from a path (`$.x`, `$$.x`,
`$var.x`) or an intrinsic call; the key loses its `.$`. JSONata templates: any string
`"{% expr %}"`, at any depth, is replaced by the expression's value.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from yun.flows import _jsonata
from yun.flows._errors import RUNTIME, EvaluationError
from yun.flows._intrinsics import Call, IntrinsicSyntaxError, is_intrinsic, parse_intrinsic
from yun.flows._json import Json, dumps
from yun.flows._jsonpath import JsonPath, PathNotFound, PathSyntaxError, parse_path


class TemplateError(ValueError):
    """A template is malformed; the message names the field."""


@dataclass
class Env:
    """What an expression can see while one state runs.

    `data` is JSONPath's `$`; `context` is `$$` / `$states.context`; `variables` are the
    workflow variables in scope; `states` is JSONata's `$states` (input, context, and
    result or errorOutput when the state has them).
    """

    data: Json
    context: Json
    variables: Mapping[str, Json]
    now: datetime
    rng: random.Random
    states: dict[str, Json] = field(default_factory=dict)

    def with_data(self, data: Json) -> Env:
        return Env(data, self.context, self.variables, self.now, self.rng, self.states)

    def find(self, path: JsonPath) -> Json:
        """A path's value; `PathNotFound` when it is not there."""
        return path.find(self.data, self.context, self._variable)

    def lookup(self, path: JsonPath, field_name: str) -> Json:
        """A path's value; States.Runtime naming the field when it is not there."""
        try:
            return self.find(path)
        except PathNotFound:
            raise EvaluationError(
                RUNTIME,
                f"The JSONPath '{path.text}' specified for the field '{field_name}' could not "
                f"be found in the input '{dumps(self.data)}'",
            ) from None

    def _variable(self, name: str) -> Json:
        if name not in self.variables:
            raise PathNotFound(name)
        return self.variables[name]

    def jsonata(self, text: str, field_name: str) -> Json:
        bindings = dict(self.variables)
        bindings["states"] = self.states
        return _jsonata.evaluate(text, field_name, bindings, now=self.now, rng=self.rng)

    def call(self, call: Call, field_name: str) -> Json:
        return call.evaluate(lambda path: self.lookup(path, field_name), self.rng)


@dataclass(frozen=True)
class Node:
    kind: str  # lit, path, call, ata, obj, arr
    value: Json = None
    path: JsonPath | None = None
    call: Call | None = None
    label: str = ""
    items: tuple[tuple[str, Node], ...] = ()


@dataclass(frozen=True)
class Template:
    """A compiled template. `static` templates have no expressions at all."""

    node: Node
    field: str

    @property
    def static(self) -> bool:
        return _is_static(self.node)

    def evaluate(self, env: Env) -> Json:
        return _evaluate(self.node, env)


def compile_jsonpath(value: Json, field_name: str) -> Template:
    """A JSONPath-mode payload template (keys ending in `.$` are expressions)."""
    return Template(_compile_jp(value, field_name), field_name)


def compile_jsonata(value: Json, field_name: str) -> Template:
    """A JSONata-mode template (strings `{% ... %}` are expressions)."""
    return Template(_compile_ata(value, field_name), field_name)


def compile_expression(text: str, field_name: str) -> Node:
    """One JSONPath-mode expression string: a path or an intrinsic call."""
    try:
        if is_intrinsic(text):
            return Node("call", call=parse_intrinsic(text), label=field_name)
        return Node("path", path=parse_path(text), label=field_name)
    except (PathSyntaxError, IntrinsicSyntaxError) as exc:
        raise TemplateError(f"field '{field_name}': {exc}") from exc


def evaluate_expression(node: Node, env: Env) -> Json:
    return _evaluate(node, env)


def _compile_jp(value: Json, label: str) -> Node:
    if isinstance(value, dict):
        items: list[tuple[str, Node]] = []
        for key, inner in value.items():
            if key.endswith(".$"):
                if not isinstance(inner, str):
                    raise TemplateError(
                        f"field '{key}' must be a JSONPath or intrinsic function string, "
                        f"was: {dumps(inner)}"
                    )
                items.append((key[:-2], compile_expression(inner, key)))
            else:
                items.append((key, _compile_jp(inner, key)))
        return Node("obj", items=tuple(items))
    if isinstance(value, list):
        return Node("arr", items=tuple(("", _compile_jp(v, label)) for v in value))
    return Node("lit", value=value)


def _compile_ata(value: Json, label: str) -> Node:
    if isinstance(value, dict):
        return Node(
            "obj", items=tuple((k, _compile_ata(v, f"{label}/{k}")) for k, v in value.items())
        )
    if isinstance(value, list):
        return Node(
            "arr", items=tuple(("", _compile_ata(v, f"{label}[{i}]")) for i, v in enumerate(value))
        )
    if _jsonata.is_expression(value):
        text = _jsonata.expression_text(value)
        try:
            _jsonata.compile_expression(text)
        except _jsonata.JsonataSyntaxError as exc:
            raise TemplateError(f"field '{label}': bad JSONata expression {text!r}: {exc}") from exc
        return Node("ata", value=text, label=label)
    return Node("lit", value=value)


def _is_static(node: Node) -> bool:
    if node.kind in ("obj", "arr"):
        return all(_is_static(child) for _, child in node.items)
    return node.kind == "lit"


def _evaluate(node: Node, env: Env) -> Json:
    kind = node.kind
    if kind == "lit":
        return node.value
    if kind == "obj":
        return {key: _evaluate(child, env) for key, child in node.items}
    if kind == "arr":
        return [_evaluate(child, env) for _, child in node.items]
    if kind == "path":
        assert node.path is not None
        return env.lookup(node.path, node.label)
    if kind == "call":
        assert node.call is not None
        return env.call(node.call, node.label)
    return env.jsonata(str(node.value), node.label)
