"""The States.* function library: each takes its evaluated arguments and a random source.

Values print and round the way Step Functions (a Java service) does: `States.Format` uses
Java's toString (`{a=1, b=[]}`, `1.0E10`), `States.MathAdd` rounds each argument as
`Math.round` does. Failures raise `EvaluationError(States.IntrinsicFailure, ...)`.
"""

from __future__ import annotations

import base64
import decimal
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable, Sequence

from yun.flows._errors import INTRINSIC_FAILURE, EvaluationError
from yun.flows._json import Json, dumps, equal, is_number, type_name


def _fail(message: str) -> EvaluationError:
    return EvaluationError(INTRINSIC_FAILURE, message)


def _want(value: Json, kind: str, fn: str, position: int) -> None:
    if type_name(value) != kind:
        raise _fail(
            f"The {fn} function's argument #{position} must be of type {kind}, "
            f"was: {type_name(value)} {dumps(value)}"
        )


def _integer(value: Json, fn: str, position: int) -> int:
    if not is_number(value) or not float(value).is_integer():
        raise _fail(
            f"The {fn} function's argument #{position} must be an integer, was: {dumps(value)}"
        )
    return int(value)


def java_text(value: Json) -> str:
    """How a value prints inside States.Format (Java's toString: `{a=1, b=[]}`, `null`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return _java_double(value)
    if is_number(value):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"


def _java_double(value: float) -> str:
    """Java's Double.toString: plain from 1e-3 to 1e7, else `1.5E10`; shortest digits."""
    if value == 0 or 1e-3 <= abs(value) < 1e7 or not math.isfinite(value):
        return repr(value)
    sign, digits, _ = decimal.Decimal(repr(value)).as_tuple()
    exponent = decimal.Decimal(repr(value)).adjusted()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{exponent}"


def _format(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "string", "States.Format", 1)
    return format_pieces(args[0].split("{}"), args[1:])


def format_pieces(pieces: Sequence[str], values: Sequence[Json]) -> str:
    """States.Format: `values` between the template's pieces (split at its placeholders)."""
    if len(pieces) - 1 != len(values):
        raise _fail(
            f"The States.Format template has {len(pieces) - 1} placeholders "
            f"but {len(values)} arguments were given"
        )
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out += [java_text(value), piece]
    return "".join(out)


def _string_to_json(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "string", "States.StringToJson", 1)
    text = args[0].strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _fail(f"States.StringToJson cannot parse {args[0]!r} as JSON") from exc


def _array_partition(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "array", "States.ArrayPartition", 1)
    size = _integer(args[1], "States.ArrayPartition", 2)
    if size <= 0:
        raise _fail(f"States.ArrayPartition's chunk size must be positive, was: {size}")
    items = args[0]
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "array", "States.ArrayContains", 1)
    return any(equal(item, args[1]) for item in args[0])


def _array_range(args: Sequence[Json], rng: random.Random) -> Json:
    start, end, step = (_integer(a, "States.ArrayRange", i + 1) for i, a in enumerate(args))
    if step == 0:
        raise _fail("States.ArrayRange's step cannot be 0")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > 1000:
        raise _fail(f"States.ArrayRange would make {len(values)} items; the limit is 1000")
    return values


def _array_get_item(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "array", "States.ArrayGetItem", 1)
    index = _integer(args[1], "States.ArrayGetItem", 2)
    if not 0 <= index < len(args[0]):
        raise _fail(f"States.ArrayGetItem index {index} is outside the array of {len(args[0])}")
    return args[0][index]


def _array_length(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "array", "States.ArrayLength", 1)
    return len(args[0])


def _array_unique(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "array", "States.ArrayUnique", 1)
    unique: list[Json] = []
    for item in args[0]:
        if not any(equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _base64_encode(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "string", "States.Base64Encode", 1)
    if len(args[0]) > 10000:
        raise _fail("States.Base64Encode's input is limited to 10000 characters")
    return base64.b64encode(args[0].encode("utf-8")).decode("ascii")


def _base64_decode(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "string", "States.Base64Decode", 1)
    try:
        return base64.b64decode(args[0].encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise _fail(f"States.Base64Decode cannot decode {args[0]!r}") from exc


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def hash_value(args: Sequence[Json], rng: random.Random) -> Json:
    data, algorithm = args
    if algorithm not in _HASHES:
        raise _fail(
            f"States.Hash's algorithm must be one of {', '.join(_HASHES)}, was: {algorithm}"
        )
    text = data if isinstance(data, str) else dumps(data)
    return hashlib.new(_HASHES[algorithm], text.encode("utf-8")).hexdigest()


def merge(left: Json, right: Json, deep: bool) -> Json:
    if not deep or not isinstance(left, dict) or not isinstance(right, dict):
        return {**left, **right} if isinstance(left, dict) and isinstance(right, dict) else right
    merged = dict(left)
    for key, value in right.items():
        merged[key] = merge(merged[key], value, True) if key in merged else value
    return merged


def _json_merge(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "object", "States.JsonMerge", 1)
    _want(args[1], "object", "States.JsonMerge", 2)
    _want(args[2], "boolean", "States.JsonMerge", 3)
    return merge(args[0], args[1], bool(args[2]))


def _java_round(value: float) -> int:
    # Java's Math.round: half-way values go towards positive infinity (-1.5 → -1).
    return math.floor(value + 0.5)


def _math_random(args: Sequence[Json], rng: random.Random) -> Json:
    for i, value in enumerate(args):
        if not is_number(value):
            raise _fail(
                f"States.MathRandom's argument #{i + 1} must be a number, was: {dumps(value)}"
            )
    start, end = _java_round(args[0]), _java_round(args[1])
    if end < start:
        raise _fail(f"States.MathRandom's end {end} is below its start {start}")
    source = random.Random(_java_round(args[2])) if len(args) == 3 else rng
    return source.randint(start, end)


def _math_add(args: Sequence[Json], rng: random.Random) -> Json:
    for i, value in enumerate(args):
        if not is_number(value):
            raise _fail(f"States.MathAdd's argument #{i + 1} must be a number, was: {dumps(value)}")
    return _java_round(args[0]) + _java_round(args[1])


def _string_split(args: Sequence[Json], rng: random.Random) -> Json:
    _want(args[0], "string", "States.StringSplit", 1)
    _want(args[1], "string", "States.StringSplit", 2)
    parts = [args[0]]
    for delimiter in args[1]:
        parts = [piece for part in parts for piece in part.split(delimiter)]
    return [part for part in parts if part]


def _uuid(args: Sequence[Json], rng: random.Random) -> Json:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


Impl = Callable[[Sequence[Json], random.Random], Json]
_MANY = 999

FUNCTIONS: dict[str, tuple[Impl, tuple[int, int]]] = {
    "States.Format": (_format, (1, _MANY)),
    "States.StringToJson": (_string_to_json, (1, 1)),
    "States.JsonToString": (lambda a, r: dumps(a[0]), (1, 1)),
    "States.Array": (lambda a, r: list(a), (0, _MANY)),
    "States.ArrayPartition": (_array_partition, (2, 2)),
    "States.ArrayContains": (_array_contains, (2, 2)),
    "States.ArrayRange": (_array_range, (3, 3)),
    "States.ArrayGetItem": (_array_get_item, (2, 2)),
    "States.ArrayLength": (_array_length, (1, 1)),
    "States.ArrayUnique": (_array_unique, (1, 1)),
    "States.Base64Encode": (_base64_encode, (1, 1)),
    "States.Base64Decode": (_base64_decode, (1, 1)),
    "States.Hash": (hash_value, (2, 2)),
    "States.JsonMerge": (_json_merge, (3, 3)),
    "States.MathRandom": (_math_random, (2, 3)),
    "States.MathAdd": (_math_add, (2, 2)),
    "States.StringSplit": (_string_split, (2, 2)),
    "States.UUID": (_uuid, (0, 0)),
}
