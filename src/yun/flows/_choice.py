"""Choice rules: compiled from the definition, evaluated against the state's input.

JSONPath rules compare `Variable` with a literal or, for the `...Path` operators, with the
value at a second path; `And`/`Or`/`Not` combine rules. A comparison between values of the
wrong type is false (never an error): `NumericEquals 0` on `"0"` or on `false` is false.
JSONata rules are one `Condition` that must evaluate to a boolean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from yun.flows._errors import QUERY_EVALUATION_ERROR, RUNTIME, EvaluationError
from yun.flows._json import Json, is_number
from yun.flows._jsonpath import JsonPath, PathNotFound, PathSyntaxError, parse_path
from yun.flows._templates import Env, Template
from yun.flows._timestamps import parse_timestamp


class RuleError(ValueError):
    """A rule is malformed; the message names the field."""


_Compare = Callable[[Json, Json], bool]


def _kind(check: Callable[[Json], bool], compare: _Compare) -> _Compare:
    return lambda a, b: check(a) and check(b) and compare(a, b)


def _is_string(v: Json) -> bool:
    return isinstance(v, str)


def _is_bool(v: Json) -> bool:
    return isinstance(v, bool)


def _timestamps(compare: Callable[[float, float], bool]) -> _Compare:
    def run(a: Json, b: Json) -> bool:
        if not isinstance(a, str) or not isinstance(b, str):
            return False
        left, right = parse_timestamp(a), parse_timestamp(b)
        return (
            left is not None and right is not None and compare(left.timestamp(), right.timestamp())
        )

    return run


def _matches(a: Json, b: Json) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    # `*` is the only wildcard; `\*` and `\\` are escapes for a literal star and backslash.
    pattern = "".join(
        ".*" if part == "*" else re.escape(part.replace("\\*", "*").replace("\\\\", "\\"))
        for part in re.split(r"(?<!\\)(\*)", b)
    )
    return re.fullmatch(pattern, a, re.DOTALL) is not None


_COMPARATORS: dict[str, _Compare] = {
    "StringEquals": _kind(_is_string, lambda a, b: a == b),
    "StringLessThan": _kind(_is_string, lambda a, b: a < b),
    "StringGreaterThan": _kind(_is_string, lambda a, b: a > b),
    "StringLessThanEquals": _kind(_is_string, lambda a, b: a <= b),
    "StringGreaterThanEquals": _kind(_is_string, lambda a, b: a >= b),
    "StringMatches": _matches,
    "NumericEquals": _kind(is_number, lambda a, b: a == b),
    "NumericLessThan": _kind(is_number, lambda a, b: a < b),
    "NumericGreaterThan": _kind(is_number, lambda a, b: a > b),
    "NumericLessThanEquals": _kind(is_number, lambda a, b: a <= b),
    "NumericGreaterThanEquals": _kind(is_number, lambda a, b: a >= b),
    "BooleanEquals": _kind(_is_bool, lambda a, b: a == b),
    "TimestampEquals": _timestamps(lambda a, b: a == b),
    "TimestampLessThan": _timestamps(lambda a, b: a < b),
    "TimestampGreaterThan": _timestamps(lambda a, b: a > b),
    "TimestampLessThanEquals": _timestamps(lambda a, b: a <= b),
    "TimestampGreaterThanEquals": _timestamps(lambda a, b: a >= b),
}

_TYPE_TESTS: dict[str, Callable[[Json], bool]] = {
    "IsNull": lambda v: v is None,
    "IsString": _is_string,
    "IsNumeric": is_number,
    "IsBoolean": _is_bool,
    "IsTimestamp": lambda v: isinstance(v, str) and parse_timestamp(v) is not None,
}

OPERATORS = frozenset(
    [
        *_COMPARATORS,
        *(f"{op}Path" for op in _COMPARATORS if op != "StringMatches"),
        *_TYPE_TESTS,
        "IsPresent",
    ]
)


@dataclass(frozen=True)
class Rule:
    """One rule. `op` is a comparator, a type test, IsPresent, And, Or, Not or Condition."""

    op: str
    variable: JsonPath | None = None
    operand: Json = None
    operand_path: JsonPath | None = None
    rules: tuple[Rule, ...] = ()
    condition: Template | None = None

    def evaluate(self, env: Env) -> bool:
        if self.op == "And":
            return all(rule.evaluate(env) for rule in self.rules)
        if self.op == "Or":
            return any(rule.evaluate(env) for rule in self.rules)
        if self.op == "Not":
            return not self.rules[0].evaluate(env)
        if self.op == "Condition":
            assert self.condition is not None
            value = self.condition.evaluate(env)
            if not isinstance(value, bool):
                raise EvaluationError(
                    QUERY_EVALUATION_ERROR,
                    f"The Condition field must evaluate to a boolean, was: {value!r}",
                )
            return value
        assert self.variable is not None
        try:
            value = env.find(self.variable)
        except PathNotFound:
            if self.op == "IsPresent":
                return self.operand is False
            raise EvaluationError(
                RUNTIME,
                f"Invalid path '{self.variable.text}': The choice state's condition path "
                "references an invalid value.",
            ) from None
        if self.op == "IsPresent":
            return self.operand is True
        if self.op in _TYPE_TESTS:
            return bool(_TYPE_TESTS[self.op](value) == self.operand)
        operand = self.operand
        if self.operand_path is not None:
            operand = env.lookup(self.operand_path, f"{self.op}Path")
        return _COMPARATORS[self.op](value, operand)


def compile_rule(spec: Json, where: str, top: bool) -> Rule:
    """Compile a JSONPath rule; `where` names it in errors ("Choices[0]")."""
    if not isinstance(spec, dict):
        raise RuleError(f"field '{where}' must be an object")
    allowed = {"Next", "Comment", "Assign", "Output"} if top else {"Comment"}
    combinators = [k for k in ("And", "Or", "Not") if k in spec]
    operators = [k for k in spec if k in OPERATORS]
    extra = set(spec) - allowed - set(combinators) - set(operators) - {"Variable"}
    if extra:
        raise RuleError(f"field '{where}': unknown field '{sorted(extra)[0]}'")
    if len(combinators) + len(operators) != 1:
        raise RuleError(f"field '{where}' needs exactly one comparison operator, And, Or or Not")
    if combinators:
        op = combinators[0]
        if "Variable" in spec:
            raise RuleError(f"field '{where}': {op} cannot have a Variable")
        inner = spec[op]
        if op == "Not":
            return Rule("Not", rules=(compile_rule(inner, f"{where}.Not", False),))
        if not isinstance(inner, list) or not inner:
            raise RuleError(f"field '{where}.{op}' must be a non-empty array of rules")
        rules = tuple(compile_rule(r, f"{where}.{op}[{i}]", False) for i, r in enumerate(inner))
        return Rule(op, rules=rules)
    op = operators[0]
    if "Variable" not in spec:
        raise RuleError(f"field '{where}': {op} needs a Variable")
    variable = _path(spec["Variable"], f"{where}.Variable")
    operand = spec[op]
    if op.endswith("Path") and op[:-4] in _COMPARATORS:
        return Rule(op[:-4], variable, operand_path=_path(operand, f"{where}.{op}"))
    shown = json.dumps(operand)
    if op in _TYPE_TESTS or op == "IsPresent":
        if not isinstance(operand, bool):
            raise RuleError(f"field '{where}.{op}' must be true or false, was: {shown}")
    elif op.startswith("Numeric") and not is_number(operand):
        raise RuleError(f"field '{where}.{op}' must be a number, was: {shown}")
    elif op.startswith(("String", "Timestamp")) and not isinstance(operand, str):
        raise RuleError(f"field '{where}.{op}' must be a string, was: {shown}")
    elif op == "BooleanEquals" and not isinstance(operand, bool):
        raise RuleError(f"field '{where}.{op}' must be true or false, was: {shown}")
    if op.startswith("Timestamp") and parse_timestamp(operand) is None:
        raise RuleError(f"field '{where}.{op}' must be an ISO-8601 timestamp, was: {shown}")
    return Rule(op, variable, operand=operand)


def _path(text: Json, where: str) -> JsonPath:
    if not isinstance(text, str):
        raise RuleError(f"field '{where}' must be a JSONPath string, was: {json.dumps(text)}")
    try:
        return parse_path(text)
    except PathSyntaxError as exc:
        raise RuleError(f"field '{where}': {exc}") from exc
