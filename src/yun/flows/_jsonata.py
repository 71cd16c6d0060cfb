"""JSONata expressions (`"{% ... %}"`), evaluated with the `jsonata-python` package.

The adapter owns three things the package does not: Step Functions' extra functions
(`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`), the clock (`$now()` and
`$millis()` read the interpreter's `now`, so a step stays pure) and the boundary between
JSONata values and JSON (undefined, null, sequences, functions).
"""

from __future__ import annotations

import functools
import json
import random
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jsonata  # type: ignore[import-untyped]
from jsonata import utils as jsonata_utils

from yun.flows._errors import QUERY_EVALUATION_ERROR, EvaluationError
from yun.flows._intrinsic_functions import hash_value, merge
from yun.flows._json import Json, is_number
from yun.flows._timestamps import format_timestamp

_NULL = jsonata_utils.Utils.NULL_VALUE
# jsonata-python keeps the current expression in a thread-local; one evaluation at a time
# per process is what the interpreter does anyway, the lock makes it true under threads.
_LOCK = threading.Lock()


class JsonataSyntaxError(ValueError):
    """The expression does not parse."""


class Undefined(Exception):
    """The expression returned nothing (JSONata's undefined)."""


def is_expression(value: Json) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def expression_text(value: str) -> str:
    return value[2:-2].strip()


@functools.lru_cache(maxsize=4096)
def compile_expression(text: str) -> Any:
    """Parse once; raises `JsonataSyntaxError` with JSONata's code and message."""
    try:
        return jsonata.Jsonata(text)
    except jsonata.JException as exc:
        raise JsonataSyntaxError(f"{exc.error}: {exc}") from exc
    except Exception as exc:  # the parser raises plain errors on some malformed input
        raise JsonataSyntaxError(str(exc)) from exc


def evaluate(
    text: str,
    field: str,
    bindings: Mapping[str, Json],
    *,
    now: datetime,
    rng: random.Random,
) -> Json:
    """Evaluate `text` (without the `{% %}`) with `bindings` as `$name` variables.

    Raises `EvaluationError(States.QueryEvaluationError, ...)` naming `field` when the
    expression fails, returns nothing, or returns a function.
    """
    expr = compile_expression(text)
    env: dict[str, Any] = {name: _to_jsonata(value) for name, value in bindings.items()}
    env.update(_functions(now, rng))
    try:
        with _LOCK:
            expr.set_output_convert_nulls(False)
            result = expr.evaluate(None, env)
    except jsonata.JException as exc:
        raise EvaluationError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' threw an "
            f"error during evaluation. {exc.error}: {exc}",
        ) from exc
    except RecursionError as exc:
        raise EvaluationError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' threw an "
            "error during evaluation. D1011: Stack overflow",
        ) from exc
    if result is None:
        raise EvaluationError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' returned "
            "nothing (undefined).",
        )
    try:
        return _to_json(result)
    except TypeError as exc:
        raise EvaluationError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' returned an "
            "unsupported result type.",
        ) from exc


def _to_jsonata(value: Json) -> Any:
    # JSON null must be the package's NULL_VALUE: a bare None means "undefined" to it.
    if value is None:
        return _NULL
    if isinstance(value, list):
        return [_to_jsonata(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_jsonata(v) for k, v in value.items()}
    return value


def _to_json(value: Any) -> Json:
    if value is _NULL or value is None:
        return None
    if isinstance(value, bool | str):
        return value
    if is_number(value):
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, list):
        return [_to_json(v) for v in value if v is not None]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items() if v is not None}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _functions(now: datetime, rng: random.Random) -> dict[str, Any]:
    millis = int(now.timestamp() * 1000)

    def partition(items: Any, size: Any) -> Any:
        if not isinstance(items, list) or not is_number(size) or size < 1:
            raise jsonata.JException("D3001", 0, "$partition(array, size) needs size >= 1")
        n = int(size)
        return [list(items[i : i + n]) for i in range(0, len(items), n)]

    def range_(start: Any, end: Any, step: Any = 1) -> Any:
        if not all(is_number(v) for v in (start, end, step)) or step == 0:
            raise jsonata.JException("D3001", 0, "$range(start, end, step) needs numbers")
        return list(range(int(start), int(end) + (1 if step > 0 else -1), int(step)))

    def hash_(data: Any, algorithm: Any = "SHA-256") -> Any:
        return hash_value([_to_json(data), algorithm], rng)

    def random_(seed: Any = None) -> Any:
        return (random.Random(seed) if seed is not None else rng).random()

    def parse(text: Any) -> Any:
        try:
            return _to_jsonata(json.loads(text))
        except (TypeError, ValueError) as exc:
            raise jsonata.JException("D3001", 0, f"$parse cannot parse {text!r}") from exc

    def merge_(objects: Any) -> Any:
        merged: Json = {}
        for obj in objects if isinstance(objects, list) else [objects]:
            merged = merge(merged, _to_json(obj), False)
        return merged

    lam = jsonata.Jsonata.JLambda
    return {
        "partition": lam(partition),
        "range": lam(range_),
        "hash": lam(hash_),
        "random": lam(random_),
        "uuid": lam(lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))),
        "parse": lam(parse),
        "now": lam(lambda *args: format_timestamp(now)),
        "millis": lam(lambda: millis),
        "merge": lam(merge_),
        "eval": None,  # Step Functions leaves $eval out ("use $parse"); calling it is T1006
    }
