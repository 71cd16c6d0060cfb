"""Compiling a state's fields: paths, templates, literals-or-JSONata, Retry and Catch.

`StateCompiler` checks and compiles field by field, reporting each problem to the
`BlockBuilder` (the definition loader) against the state and field, and carries on, so one
pass finds every problem. The per-type assembly is in `_builders`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from yun.flows import _jsonata
from yun.flows._choice import RuleError
from yun.flows._errors import ALL
from yun.flows._json import is_number
from yun.flows._jsonpath import JsonPath, PathSyntaxError, parse_path
from yun.flows._retry import Catcher, Retrier
from yun.flows._states import (
    JSONATA,
    ROOT_PATH,
)
from yun.flows._templates import (
    Node,
    Template,
    TemplateError,
    compile_expression,
    compile_jsonata,
    compile_jsonpath,
)

T = TypeVar("T")

_CONTINUING = {"Pass", "Task", "Wait", "Parallel", "Map"}
LAMBDA_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]*:\d*:function:([\w-]+(?::[\w$-]+)?)")
INVOKE_ARN = re.compile(r"arn:[\w-]+:states:::lambda:invoke")
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]+(?::[A-Za-z0-9_$-]+)?")


class BlockBuilder(Protocol):
    """What a state compiler needs from the loader: report problems, compile sub-blocks."""

    def problem(self, message: str, value: Any = ..., state: str | None = None) -> None: ...

    def block(self, block_id: str, data: Any, where: str, isolated: bool) -> None: ...


class StateCompiler:
    """Compiles one state's fields, reporting problems against that state."""

    def __init__(
        self, builder: BlockBuilder, block_id: str, name: str, spec: dict[str, Any], language: str
    ) -> None:
        self.b, self.block_id, self.name, self.spec = builder, block_id, name, spec
        self.language = language

    @property
    def jsonata(self) -> bool:
        return self.language == JSONATA

    def problem(self, message: str, value: Any = ...) -> None:
        self.b.problem(message, value, state=self.name)

    def guard(self, field_name: str, make: Callable[[], T]) -> T | None:
        try:
            return make()
        except (TemplateError, PathSyntaxError, RuleError) as exc:
            text = str(exc)
            self.problem(text if text.startswith("field") else f"field '{field_name}': {text}")
            return None

    def path(
        self, field_name: str, default: JsonPath | None = ROOT_PATH, allow_null: bool = True
    ) -> JsonPath | None:
        if field_name not in self.spec:
            return default
        value = self.spec[field_name]
        if value is None and allow_null:
            return None
        if not isinstance(value, str):
            self.problem(f"field '{field_name}' must be a JSONPath string", value)
            return default
        return self.guard(field_name, lambda: parse_path(value)) or default

    def template(self, field_name: str) -> Template | None:
        if field_name not in self.spec:
            return None
        value = self.spec[field_name]
        if self.jsonata:
            return self.guard(field_name, lambda: compile_jsonata(value, field_name))
        if field_name in (
            "Parameters",
            "ResultSelector",
            "ItemSelector",
            "Assign",
        ) and not isinstance(value, dict):
            self.problem(f"field '{field_name}' must be an object", value)
            return None
        return self.guard(field_name, lambda: compile_jsonpath(value, field_name))

    def value(self, field_name: str, check: Callable[[Any], bool], want: str) -> Template | None:
        """A field that is a literal (checked) or, in JSONata, a `{% %}` expression."""
        if field_name not in self.spec:
            return None
        value = self.spec[field_name]
        if self.jsonata and _jsonata.is_expression(value):
            return self.guard(field_name, lambda: compile_jsonata(value, field_name))
        if not check(value):
            self.problem(f"field '{field_name}' must be {want}", value)
            return None
        return compile_jsonata(value, field_name)

    def expression(self, field_name: str) -> Node | None:
        value = self.spec.get(field_name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(f"field '{field_name}' must be a JSONPath or intrinsic function", value)
            return None
        return self.guard(field_name, lambda: compile_expression(value, field_name))

    def common(self, kind: str) -> dict[str, Any]:
        """The fields every state type has, compiled (keyword arguments for its class)."""
        spec = self.spec
        common: dict[str, Any] = {"name": self.name, "type": kind, "language": self.language}
        if kind in _CONTINUING:
            has_next, end = "Next" in spec, spec.get("End", False)
            if has_next == (end is True):
                self.problem("must have either 'Next' or 'End': true (exactly one)")
            if has_next and not isinstance(spec["Next"], str):
                self.problem("field 'Next' must be a state name", spec["Next"])
            else:
                common["next"] = spec.get("Next")
            common["end"] = end is True
        for field_name in ("InputPath", "OutputPath"):
            key = "input_path" if field_name == "InputPath" else "output_path"
            common[key] = self.path(field_name)
        common["result_path"] = self.path("ResultPath")
        if common["result_path"] is not None and not _writable(common["result_path"]):
            self.problem(
                "field 'ResultPath' must be a path of names and indexes under '$'",
                spec["ResultPath"],
            )
            common["result_path"] = ROOT_PATH
        for field_name, key in (
            ("Parameters", "parameters"),
            ("ResultSelector", "result_selector"),
            ("Assign", "assign"),
            ("Output", "output"),
            ("Arguments", "arguments"),
        ):
            common[key] = self.template(field_name)
        if kind in ("Task", "Parallel", "Map"):
            common["retry"] = self.retriers()
            common["catch"] = self.catchers()
        return common

    def retriers(self) -> tuple[Retrier, ...]:
        specs = self.spec.get("Retry", [])
        if not isinstance(specs, list):
            self.problem("field 'Retry' must be an array", specs)
            return ()
        out = []
        for i, spec in enumerate(specs):
            where = f"Retry[{i}]"
            errors = self.error_equals(spec, where, last=i == len(specs) - 1)
            if errors is None:
                continue
            extra = set(spec) - {
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            }
            for name in sorted(extra):
                self.problem(f"field '{where}.{name}' is not allowed")
            interval = spec.get("IntervalSeconds", 1)
            attempts = spec.get("MaxAttempts", 3)
            rate = spec.get("BackoffRate", 2.0)
            max_delay = spec.get("MaxDelaySeconds")
            jitter = spec.get("JitterStrategy", "NONE")
            if not (is_int(interval) and interval >= 1):
                self.problem(f"field '{where}.IntervalSeconds' must be an integer >= 1", interval)
            if not (is_int(attempts) and attempts >= 0):
                self.problem(f"field '{where}.MaxAttempts' must be an integer >= 0", attempts)
            if not (is_number(rate) and rate >= 1):
                self.problem(f"field '{where}.BackoffRate' must be a number >= 1.0", rate)
            if max_delay is not None and not (is_int(max_delay) and max_delay >= 1):
                self.problem(f"field '{where}.MaxDelaySeconds' must be an integer >= 1", max_delay)
            if jitter not in ("FULL", "NONE"):
                self.problem(f"field '{where}.JitterStrategy' must be FULL or NONE", jitter)
            out.append(
                Retrier(
                    errors,
                    float(interval) if is_number(interval) else 1.0,
                    int(attempts) if is_int(attempts) else 3,
                    float(rate) if is_number(rate) else 2.0,
                    float(max_delay) if is_number(max_delay) else None,
                    jitter if jitter in ("FULL", "NONE") else "NONE",
                )
            )
        return tuple(out)

    def error_equals(self, spec: Any, where: str, last: bool) -> tuple[str, ...] | None:
        if not isinstance(spec, dict):
            self.problem(f"field '{where}' must be an object", spec)
            return None
        errors = spec.get("ErrorEquals")
        if (
            not isinstance(errors, list)
            or not errors
            or not all(isinstance(e, str) for e in errors)
        ):
            self.problem(
                f"field '{where}.ErrorEquals' must be a non-empty array of error names", errors
            )
            return None
        if ALL in errors and (len(errors) > 1 or not last):
            self.problem(
                f"field '{where}.ErrorEquals': States.ALL must be alone and in the "
                "last retrier or catcher"
            )
        return tuple(errors)

    def catchers(self) -> tuple[Catcher, ...]:
        specs = self.spec.get("Catch", [])
        if not isinstance(specs, list):
            self.problem("field 'Catch' must be an array", specs)
            return ()
        out = []
        for i, spec in enumerate(specs):
            where = f"Catch[{i}]"
            errors = self.error_equals(spec, where, last=i == len(specs) - 1)
            if errors is None:
                continue
            allowed = {"ErrorEquals", "Next", "Comment", "Assign"}
            allowed |= {"Output"} if self.jsonata else {"ResultPath"}
            for name in sorted(set(spec) - allowed):
                self.problem(f"field '{where}.{name}' is not allowed")
            nxt = spec.get("Next")
            if not isinstance(nxt, str):
                self.problem(f"field '{where}.Next' must be a state name", nxt)
                continue
            sub = StateCompiler(self.b, self.block_id, self.name, spec, self.language)
            result_path = sub.path("ResultPath")
            if result_path is not None and not _writable(result_path):
                self.problem(f"field '{where}.ResultPath' must be a path under '$'")
            out.append(
                Catcher(errors, nxt, result_path, sub.template("Assign"), sub.template("Output"))
            )
        return tuple(out)


def _writable(path: JsonPath) -> bool:
    return path.root == "input" and path.definite


def is_int(value: Any) -> bool:
    return is_number(value) and float(value).is_integer()
