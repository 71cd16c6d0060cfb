"""Intrinsic functions: `States.Format('x={}', $.x)` and the other `States.*` calls.

`parse_intrinsic` turns the text into a call tree at deploy time (unknown function, bad
arity, bad literal → `IntrinsicSyntaxError`); `Call.evaluate` runs it against the state's
data. Run-time failures raise `EvaluationError(States.IntrinsicFailure, ...)`.
Randomness (UUID, MathRandom) comes from a `random.Random` the caller seeds, so a step of
the interpreter stays a pure function of its inputs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass

from yun.flows._errors import INTRINSIC_FAILURE, EvaluationError
from yun.flows._intrinsic_functions import FUNCTIONS, format_pieces
from yun.flows._json import Json, is_number
from yun.flows._jsonpath import JsonPath, PathSyntaxError, parse_path


class IntrinsicSyntaxError(ValueError):
    """The text is not a valid intrinsic function call."""


Lookup = Callable[[JsonPath], Json]
"""Resolves a path argument to its value (raising the caller's not-found error)."""


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Arg, ...]
    text: str

    def evaluate(self, lookup: Lookup, rng: random.Random) -> Json:
        values = [arg.evaluate(lookup, rng) for arg in self.args]
        try:
            if self.name == "States.Format" and self.args[0].pieces is not None:
                return format_pieces(self.args[0].pieces, values[1:])
            return FUNCTIONS[self.name][0](values, rng)
        except EvaluationError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            raise EvaluationError(
                INTRINSIC_FAILURE, f"The intrinsic function {self.name} failed: {exc}"
            ) from exc


@dataclass(frozen=True)
class Arg:
    literal: Json = None
    path: JsonPath | None = None
    call: Call | None = None
    pieces: tuple[str, ...] | None = None  # a string literal split at its `{}` placeholders

    def evaluate(self, lookup: Lookup, rng: random.Random) -> Json:
        if self.call is not None:
            return self.call.evaluate(lookup, rng)
        if self.path is not None:
            return lookup(self.path)
        return self.literal


def is_intrinsic(text: str) -> bool:
    return text.startswith("States.")


def parse_intrinsic(text: str) -> Call:
    parser = _Parser(text)
    call = parser.call()
    parser.skip_space()
    if parser.pos != len(text):
        raise IntrinsicSyntaxError(f"unexpected {text[parser.pos :]!r} after the call in {text!r}")
    return call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> Call:
        start = self.pos
        open_at = self.text.find("(", self.pos)
        if open_at < 0:
            raise IntrinsicSyntaxError(f"missing '(' in {self.text!r}")
        name = self.text[self.pos : open_at].strip()
        if name not in FUNCTIONS:
            raise IntrinsicSyntaxError(f"unknown intrinsic function {name!r}")
        self.pos = open_at + 1
        args: list[Arg] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.arg())
                self.skip_space()
                ch = self.peek()
                self.pos += 1
                if ch == ")":
                    break
                if ch != ",":
                    raise IntrinsicSyntaxError(f"expected ',' or ')' in {self.text!r}")
        low, high = FUNCTIONS[name][1]
        if not low <= len(args) <= high:
            want = str(low) if low == high else f"{low}..{high}" if high < 99 else f"{low}+"
            raise IntrinsicSyntaxError(f"{name} takes {want} arguments, was given {len(args)}")
        return Call(name, tuple(args), self.text[start : self.pos])

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def arg(self) -> Arg:
        self.skip_space()
        ch = self.peek()
        if ch == "'":
            return self.string()
        if ch == "$":
            return Arg(path=self.path())
        if self.text.startswith("States.", self.pos):
            return Arg(call=self.call())
        end = self.pos
        while end < len(self.text) and self.text[end] not in ",)" and not self.text[end].isspace():
            end += 1
        token = self.text[self.pos : end]
        self.pos = end
        if token in ("true", "false"):
            return Arg(literal=token == "true")
        if token == "null":
            return Arg(literal=None)
        try:
            number = json.loads(token)
        except ValueError:
            number = None
        if not is_number(number):
            raise IntrinsicSyntaxError(f"bad argument {token!r} in {self.text!r}")
        return Arg(literal=number)

    def string(self) -> Arg:
        """A quoted literal; `\\{` and `\\}` are braces that are not a Format placeholder."""
        pieces: list[str] = []
        out: list[str] = []
        self.pos += 1
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == "'":
                self.pos += 1
                pieces.append("".join(out))
                return Arg(literal="{}".join(pieces), pieces=tuple(pieces))
            if self.text.startswith("{}", self.pos):
                pieces.append("".join(out))
                out = []
                self.pos += 2
                continue
            out.append(ch)
            self.pos += 1
        raise IntrinsicSyntaxError(f"unterminated string in {self.text!r}")

    def path(self) -> JsonPath:
        start, depth = self.pos, 0
        quote: str | None = None
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch in "([":
                depth += 1
            elif ch in ")]":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                break
            self.pos += 1
        try:
            return parse_path(self.text[start : self.pos].strip())
        except PathSyntaxError as exc:
            raise IntrinsicSyntaxError(str(exc)) from exc
