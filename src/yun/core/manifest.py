"""Parse and validate function manifests: `yun.yaml`, `@yun.function(...)` arguments, stored dicts.

All three sources become one plain mapping that `_validate` checks, so each rule is written once
and every error reads the same way: the thing, the bad value, and where it came from, as in
`memory must be 64..10240 MiB, was: 99999 (yun.yaml line 4)`.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import PurePosixPath, PureWindowsPath

import yaml
from yaml.reader import ReaderError

from yun.core._checks import (
    Path,
    Where,
    check_keys,
    fail,
    integer,
    key_text,
    opt,
    seconds_of,
    show,
)
from yun.core._triggers import parse_bucket_destination, parse_triggers, trigger_to_dict
from yun.core.errors import ManifestError
from yun.core.types import AsyncSpec, Manifest, Network, ScaleSpec, Tier

__all__ = [
    "load_manifest",
    "manifest_from_decorated_source",
    "manifest_from_dict",
    "manifest_to_dict",
]

RUNTIMES = ("python3.11", "python3.12", "python3.13")
MAX_TIMEOUT = 900.0  # seconds, as Lambda
MAX_ENV_BYTES = 4096  # names plus values, as Lambda's 4 KB
MAX_ENV_ENTRIES = 1000

# `async` is the field `async_` (a Python keyword otherwise).
_KEYS = tuple(sorted({f.name for f in fields(Manifest)} - {"async_"} | {"async"}))
_SCALE_KEYS = ("histogram_range", "keep_alive", "keep_alive_policy", "max", "min", "target",
               "target_utilization", "window")
KEEP_ALIVE_POLICIES = ("fixed", "hybrid")
WINDOW_RANGE = (6.0, 3600.0)  # seconds, Knative's bounds for autoscaling.knative.dev/window
HISTOGRAM_RANGE = (600.0, 86400.0)  # seconds: at least 10 one-minute bins, at most a day
_ASYNC_KEYS = ("max_age", "on_failure", "on_success", "retries")
MAX_RETRIES = 10
CPU_RANGE = (0.05, 64.0)  # cores per instance
MIB_PER_CORE = 256  # the default `cpu`: memory / MIB_PER_CORE cores
MAX_EVENT_AGE = 6 * 3600.0  # seconds, as Lambda
_TARGET = re.compile(r"[a-z][a-z0-9-]{0,62}(:[A-Za-z0-9][A-Za-z0-9_-]{0,62})?")
# `handler` comes from the decorated function and `async` is not a legal Python keyword argument.
_DECORATOR_KEYS = tuple(k for k in _KEYS if k not in ("async", "handler"))

_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNPASSABLE = re.compile("[\x00\ud800-\udfff]")
# YAML scalars that resolve to non-strings; in `env` we keep the text as written (`1.10` stays
# "1.10", `2024-01-01` stays a date string), which is what a user typing an env var expects.
_TEXT_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "timestamp"))
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


# --- the three sources ---------------------------------------------------------------------


def load_manifest(text: str, filename: str = "yun.yaml") -> Manifest:
    """Parse and validate a `yun.yaml`. Raises ManifestError naming the file and line."""
    where, loader = Where(filename), None
    try:
        loader = yaml.SafeLoader(text)  # raises on control characters already
        node = loader.get_single_node()  # what yaml.compose does; keeps the marks
        if node is not None:
            _locate(node, where, ())
        data: object = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"{filename} line {mark.line + 1}" if mark else filename
        problem = "; ".join(p for p in (e.context, e.problem) if p)
        raise fail(f"invalid YAML: {problem}", at) from e
    except ReaderError as e:
        raise fail(f"invalid YAML: {e.reason} (character #x{e.character:04x})", filename) from e
    except (yaml.YAMLError, ValueError) as e:  # ValueError: an int past the digit limit
        raise fail(f"invalid YAML: {e}", filename) from e
    except RecursionError as e:
        raise fail("invalid YAML: nested too deeply", filename) from e
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        raise fail("manifest is empty; it needs at least 'name' and 'handler'", filename)
    if not isinstance(data, dict):
        raise fail(f"manifest must be a mapping of keys to values, was: {show(data)}", filename)
    if isinstance(env := data.get("env"), dict):
        env.update((k, text) for k, text in where.env_text.items() if k in env)
    return _validate(data, where)


def manifest_from_decorated_source(source: str, filename: str) -> Manifest:
    """Read the manifest from the one `@yun.function(...)` in a Python file, without running it.

    The handler is `<file stem>:<function>`; the name defaults to the stem with `_` as `-`.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as e:
        at = f"{filename} line {e.lineno}" if e.lineno else filename
        raise fail(f"invalid Python: {e.msg}", at) from e
    except (RecursionError, MemoryError) as e:
        raise fail("invalid Python: nested too deeply", filename) from e
    found = _decorated(tree)
    if not found:
        raise ManifestError(f"no top-level function decorated with @yun.function in {filename}")
    if len(found) > 1:
        lines = ", ".join(str(dec.lineno) for _, dec in found)
        raise ManifestError(
            f"{filename} has {len(found)} functions decorated with @yun.function (lines {lines});"
            " a single-file deploy needs exactly one"
        )
    fn, dec = found[0]
    where = Where(filename, {(): dec.lineno})
    raw: dict[str, object] = {}
    if isinstance(dec, ast.Call):
        if dec.args:
            raise fail("@yun.function takes keyword arguments only", where.of())
        for kw in dec.keywords:
            at = f"{filename} line {kw.lineno}"
            if kw.arg is None:
                raise fail("@yun.function cannot take **arguments; write each one out", at)
            if kw.arg in raw:
                raise fail(f"argument {kw.arg!r} given twice", at)
            try:
                raw[kw.arg] = ast.literal_eval(kw.value)
            except (ValueError, TypeError, SyntaxError, RecursionError) as e:
                written = show(ast.get_source_segment(source, kw.value)).strip("'\"")
                raise fail(f"{kw.arg}= must be a literal, was: {written}", at) from e
            where.keys[(kw.arg,)], where.values[(kw.arg,)] = kw.lineno, kw.value.lineno
            if isinstance(kw.value, ast.Dict):  # so errors inside scale={...} name their line
                for k, v in zip(kw.value.keys, kw.value.values, strict=True):
                    if isinstance(k, ast.Constant) and isinstance(k.value, str):
                        where.keys[(kw.arg, k.value)] = k.lineno
                        where.values[(kw.arg, k.value)] = v.lineno
    check_keys(raw, _DECORATOR_KEYS, where, (), noun="argument")

    stem = PurePosixPath(filename.replace("\\", "/")).name.removesuffix(".py")
    if not _is_identifier(stem):
        message = f"file name must be an importable module name like app.py, was: {filename!r}"
        raise fail(message, filename)
    raw["handler"] = f"{stem}:{fn.name}"
    if "name" not in raw:
        default = stem.replace("_", "-")
        if not _NAME.fullmatch(default):
            message = f"name from the file name must be {_NAME_RULE}, was: {default!r}"
            raise fail(f"{message}; pass name=... to @yun.function", where.of())
        raw["name"] = default
    return _validate(raw, where)


def manifest_to_dict(m: Manifest) -> dict[str, object]:
    """A JSON-safe dict (durations in float seconds, network as str) for storage."""
    s = m.scale
    return {
        "name": m.name,
        "handler": m.handler,
        "runtime": m.runtime,
        "memory": m.memory,
        **({"cpu": m.cpu} if m.cpu is not None else {}),
        "timeout": float(m.timeout),
        "concurrency": m.concurrency,
        "scale": _scale_to_dict(s),
        "env": dict(m.env),
        "requirements": m.requirements,
        "network": str(m.network),
        **({"sandbox": str(m.sandbox)} if m.sandbox != Tier.PROCESS else {}),
        **({"async": _async_to_dict(m.async_)} if m.async_ != AsyncSpec() else {}),
        **({"triggers": [trigger_to_dict(t) for t in m.triggers]} if m.triggers else {}),
    }


def triggers_as_dicts(m: Manifest) -> list[dict[str, object]]:
    """The manifest's triggers in `yun.yaml` form (what `replace_triggers` takes back)."""
    return [trigger_to_dict(t) for t in m.triggers]


def replace_triggers(m: Manifest, raw: list[dict[str, object]], source: str) -> Manifest:
    """`m` with its triggers replaced by `raw` (in `yun.yaml` form), validated as at deploy;
    errors name `source`."""
    return replace(m, triggers=parse_triggers(raw, Where(source), m.env))


def _scale_to_dict(s: ScaleSpec) -> dict[str, object]:
    # The autoscaler's newer keys only when set: versions stored before they existed compare
    # equal to a redeploy of the same manifest (and still store nothing new).
    base = ScaleSpec()
    extra = {key: getattr(s, key)
             for key in ("keep_alive_policy", "window", "target_utilization", "histogram_range")
             if getattr(s, key) != getattr(base, key)}
    return {"min": s.min, "max": s.max, "target": s.target, "keep_alive": s.keep_alive, **extra}


def _async_to_dict(a: AsyncSpec) -> dict[str, object]:
    # Only when not the defaults: versions stored before `async` existed compare equal to a
    # redeploy of the same manifest, and old rows (without the key) read as the defaults.
    return {"retries": a.retries, "max_age": a.max_age, "on_success": a.on_success,
            "on_failure": a.on_failure}


def manifest_from_dict(d: Mapping[str, object], *, source: str = "stored manifest") -> Manifest:
    """The inverse of `manifest_to_dict`; validates, since stored data may predate a rule."""
    if not isinstance(d, Mapping):
        raise fail(f"manifest must be a mapping, was: {show(d)}", source)
    return _validate(d, Where(source))


# --- locating values in the source ---------------------------------------------------------


def _locate(node: yaml.Node, where: Where, path: Path) -> None:
    """Record the lines of top-level keys and one level below (scale, env), and of each trigger
    down to its options' options (`triggers.0.mqtt.batch.size`); reject duplicate keys."""
    in_triggers = path[:1] == ("triggers",)
    if in_triggers and len(path) == 1 and isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            where.values[(*path, str(i))] = item.start_mark.line + 1
            _locate(item, where, (*path, str(i)))
        return
    # Bounded depth: an alias bomb must not turn into exponential work here.
    if not isinstance(node, yaml.MappingNode) or len(path) > (4 if in_triggers else 1):
        return
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
            continue
        here, line = (*path, str(key.value)), key.start_mark.line + 1
        if here in where.keys:  # PyYAML keeps the last silently; a stale copy would win unseen
            message = f"duplicate key {'.'.join(here)!r}, first on line {where.keys[here]}"
            raise fail(message, f"{where.source} line {line}")
        where.keys[here], where.values[here] = line, value.start_mark.line + 1
        env_text = path == ("env",) and key.tag == _STR_TAG and value.tag in _TEXT_TAGS
        if env_text and isinstance(value, yaml.ScalarNode):
            where.env_text[key.value] = value.value
        _locate(value, where, here)


def _decorated(tree: ast.Module) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.expr]]:
    """Top-level functions decorated with `@yun.function`, or `@function` imported from yun."""
    modules, functions = {"yun"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == "yun" and a.asname}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "yun":
            functions |= {a.asname or a.name for a in node.names if a.name == "function"}

    def is_yun_function(dec: ast.expr) -> bool:
        e = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(e, ast.Attribute):
            return e.attr == "function" and isinstance(e.value, ast.Name) and e.value.id in modules
        return isinstance(e, ast.Name) and e.id in functions

    defs = [f for f in tree.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
    return [(f, dec) for f in defs for dec in f.decorator_list if is_yun_function(dec)]


# --- validation, shared by every source ----------------------------------------------------

_NAME_RULE = "1-63 lowercase letters, digits or '-', starting with a letter: ^[a-z][a-z0-9-]{0,62}$"


def _validate(raw: Mapping[str, object], where: Where) -> Manifest:
    check_keys(raw, _KEYS, where, ())
    for required in ("name", "handler"):
        if required not in raw:
            raise ManifestError(f"missing required key {required!r} ({where.source})")
    if raw.get("async") is not None and not isinstance(raw["async"], Mapping):
        raise fail(f"async must be a mapping, was: {show(raw['async'])}", where.of("async"))
    timeout = seconds_of(opt(raw, "timeout", 10.0), "timeout", where.of("timeout"))
    if not 0 < timeout <= MAX_TIMEOUT:
        message = (
            f"timeout must be more than 0 and at most 900s (15m), was: {show(raw['timeout'])}"
        )
        raise fail(message, where.of("timeout"))
    concurrency = integer(opt(raw, "concurrency", 1), "concurrency", 1, 1000, "", where)
    env = _env(raw.get("env"), where)
    network = Network(_choice(raw.get("network"), "network", tuple(Network), where))
    sandbox = Tier(_choice(raw.get("sandbox"), "sandbox", tuple(Tier), where))
    if sandbox == Tier.RUNSC and network == Network.EGRESS:
        raise fail("network: egress is not available with sandbox: runsc (its instances have "
                   "no network); use sandbox: process", where.of("network"))
    return Manifest(
        name=_name(raw["name"], where.of("name")),
        handler=_handler(raw["handler"], where.of("handler")),
        runtime=_choice(raw.get("runtime"), "runtime", RUNTIMES, where),
        memory=integer(opt(raw, "memory", 128), "memory", 64, 10240, " MiB", where),
        cpu=_cpu(raw.get("cpu"), where.of("cpu")),
        timeout=timeout,
        concurrency=concurrency,
        scale=_scale(raw.get("scale"), where, concurrency),
        env=env,
        requirements=_requirements(raw.get("requirements"), where.of("requirements")),
        network=network,
        sandbox=sandbox,
        triggers=parse_triggers(raw.get("triggers"), where, env),
        async_=_async(raw.get("async"), where),
    )


def _cpu(value: object, at: str) -> float | None:
    if value is None:
        return None
    low, high = CPU_RANGE
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not low <= value <= high):
        raise fail(f"cpu must be a number of cores from {low} to {high:g}, was: {show(value)}",
                   at)
    return float(value)


def instance_cpu(m: Manifest) -> float:
    """Cores an instance of `m` may use: its `cpu`, else one core per MIB_PER_CORE of memory
    (as Lambda gives CPU in proportion to memory, at a higher rate: a 128 MiB function gets
    half a core, not Lambda's 7 %, so a light handler's warm path is never throttled)."""
    return m.cpu if m.cpu is not None else m.memory / MIB_PER_CORE


def _name(value: object, at: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise fail(f"name must be {_NAME_RULE}, was: {show(value)}", at)
    return value


def _is_identifier(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def _handler(value: object, at: str) -> str:
    if isinstance(value, str) and value.count(":") == 1:
        module, _, function = value.partition(":")
        if all(map(_is_identifier, module.split("."))) and _is_identifier(function):
            return value
    rule = "module:function like main:handle, both parts Python identifiers (module dotted ok)"
    raise fail(f"handler must be {rule}, was: {show(value)}", at)


def _choice(value: object, what: str, allowed: tuple[str, ...], where: Where) -> str:
    if value is None:
        return allowed[0]
    if value not in allowed or not isinstance(value, str):
        message = f"{what} must be one of {', '.join(allowed)}, was: {show(value)}"
        raise fail(message, where.of(*what.split(".")))
    return value


def _scale(value: object, where: Where, concurrency: int) -> ScaleSpec:
    """`target` defaults to `concurrency` (fill each instance) and may not exceed it."""
    if value is None:
        return ScaleSpec(target=float(concurrency))
    if not isinstance(value, Mapping):
        message = f"scale must be a mapping like {{min: 0, max: 10}}, was: {show(value)}"
        raise fail(message, where.of("scale"))
    check_keys(value, _SCALE_KEYS, where, ("scale",))
    low = integer(opt(value, "min", 0), "scale.min", 0, None, "", where)
    high = integer(opt(value, "max", 10), "scale.max", 1, 1000, "", where)
    if low > high:
        default = "" if value.get("max") is not None else " by default"
        message = f"scale.min must be <= scale.max, was: min {low}, max {high}{default}"
        raise fail(message, where.of("scale", "min"))
    target = opt(value, "target", float(concurrency))
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < math.inf:
        message = f"scale.target must be a number > 0, was: {show(target)}"
        raise fail(message, where.of("scale", "target"))
    if target > concurrency:
        message = (f"scale.target must be at most concurrency ({concurrency}): an instance "
                   f"never serves more, was: {show(target)}")
        raise fail(message, where.of("scale", "target"))
    at = where.of("scale", "keep_alive")
    keep_alive = seconds_of(opt(value, "keep_alive", 600.0), "scale.keep_alive", at)
    if not 0 <= keep_alive < math.inf:
        message = f"scale.keep_alive must be 0 or more, was: {show(value['keep_alive'])}"
        raise fail(message, at)
    policy = _choice(value.get("keep_alive_policy"), "scale.keep_alive_policy",
                     KEEP_ALIVE_POLICIES, where)
    return ScaleSpec(min=low, max=high, target=float(target), keep_alive=keep_alive,
                     keep_alive_policy="hybrid" if policy == "hybrid" else "fixed",
                     window=_window(value.get("window"), where),
                     target_utilization=_utilization(value.get("target_utilization"), where),
                     histogram_range=_histogram_range(value.get("histogram_range"), policy,
                                                      where))


def _histogram_range(value: object, policy: str, where: Where) -> float | None:
    if value is None:
        return None
    at = where.of("scale", "histogram_range")
    seconds = seconds_of(value, "scale.histogram_range", at)
    if policy != "hybrid":
        raise fail(f"scale.histogram_range applies only with keep_alive_policy: hybrid, was: "
                   f"{show(value)} with keep_alive_policy: {policy}", at)
    low, high = HISTOGRAM_RANGE
    if not low <= seconds <= high:
        raise fail(f"scale.histogram_range must be 10m..24h, was: {show(value)}", at)
    return seconds


def _utilization(value: object, where: Where) -> float:
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        message = f"scale.target_utilization must be a number in (0, 1], was: {show(value)}"
        raise fail(message, where.of("scale", "target_utilization"))
    return float(value)


def _window(value: object, where: Where) -> float | None:
    if value is None:
        return None
    at = where.of("scale", "window")
    window = seconds_of(value, "scale.window", at)
    low, high = WINDOW_RANGE
    if not low <= window <= high:
        raise fail(f"scale.window must be 6s..1h, was: {show(value)}", at)
    return window


def _async(value: object, where: Where) -> AsyncSpec:
    if value is None:
        return AsyncSpec()
    assert isinstance(value, Mapping)  # shape-checked in _validate
    check_keys(value, _ASYNC_KEYS, where, ("async",))
    retries = integer(opt(value, "retries", 2), "async.retries", 0, MAX_RETRIES, "", where)
    at = where.of("async", "max_age")
    max_age = seconds_of(opt(value, "max_age", MAX_EVENT_AGE), "async.max_age", at)
    if not 60 <= max_age <= MAX_EVENT_AGE:
        message = f"async.max_age must be 60s..6h, was: {show(value.get('max_age'))}"
        raise fail(message, at)
    destinations = []
    for key in ("on_success", "on_failure"):
        target = value.get(key)
        try:
            bucket = isinstance(target, str) and parse_bucket_destination(target) is not None
        except ValueError as exc:
            raise fail(f"async.{key}: {exc}", where.of("async", key)) from None
        if target is not None and not bucket and (
                not isinstance(target, str) or not _TARGET.fullmatch(target)):
            message = (f"async.{key} must be a function name, optionally with :alias or "
                       f":version, was: {show(target)}")
            raise fail(message, where.of("async", key))
        destinations.append(target)
    return AsyncSpec(retries=retries, max_age=max_age, on_success=destinations[0],
                     on_failure=destinations[1])


def _env(value: object, where: Where) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail(f"env must be a mapping of NAME: value, was: {show(value)}", where.of("env"))
    if len(value) > MAX_ENV_ENTRIES:
        message = f"env has {len(value)} entries, more than the {MAX_ENV_ENTRIES} allowed"
        raise fail(message, where.of("env"))
    env: dict[str, str] = {}
    for key, raw in value.items():
        at = where.of("env", key_text(key), key=True)
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            raise fail(f"env name must match [A-Za-z_][A-Za-z0-9_]*, was: {show(key)}", at)
        if key.startswith("YUN_"):
            raise fail(f"env name {key!r} is reserved: Yun sets the YUN_* names", at)
        env[key] = _env_value(key, raw, where.of("env", key))
    size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    if size > MAX_ENV_BYTES:
        message = f"env is {size} bytes (names + values), more than the {MAX_ENV_BYTES} allowed"
        raise fail(message, where.of("env"))
    return env


def _env_value(key: str, value: object, at: str) -> str:
    if isinstance(value, bool):  # before int: bool is an int, and str(True) is "True"
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError:  # an int past sys.get_int_max_str_digits(), so over the size limit
            raise fail(f"env {key} is longer than the {MAX_ENV_BYTES} bytes allowed", at) from None
    if not isinstance(value, str):
        hint = f'; write {key}: "" for an empty value' if value is None else ""
        raise fail(f"env {key} must be a string, number or boolean, was: {show(value)}{hint}", at)
    if _UNPASSABLE.search(value):  # execve cannot pass NUL, nor UTF-8 encode a lone surrogate
        raise fail(f"env {key} cannot contain NUL or lone surrogates, was: {show(value)}", at)
    return value


def _requirements(value: object, at: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip() and "\x00" not in value:
        path = PureWindowsPath(value)  # splits on both / and \, so `..\x` is caught too
        if not (value.startswith("/") or path.drive or path.root or ".." in path.parts):
            return value
    rule = "a relative path inside the function's directory, like requirements.txt"
    raise fail(f"requirements must be {rule}, was: {show(value)}", at)
