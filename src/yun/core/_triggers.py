"""The manifest's `triggers:` list: each entry is a one-key mapping naming its kind.

A new kind adds a parser to `_PARSERS` and a case to `trigger_to_dict` (bucket triggers come
that way). Errors name the entry as `triggers[2].mqtt.qos`, the bad value and the line.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from croniter import croniter

from yun.core._checks import Where, check_keys, fail, integer, opt, seconds_of, show
from yun.core.types import (
    Batch,
    BucketTrigger,
    Cors,
    CronTrigger,
    HttpTrigger,
    MqttTrigger,
    NatsTrigger,
    RouteAuth,
    Trigger,
    WebhookTrigger,
)

__all__ = ["RATE", "parse_bucket_destination", "parse_triggers", "trigger_to_dict"]

MAX_TRIGGERS = 20
METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%-]+|\{[A-Za-z_][A-Za-z0-9_]*\}")
_NATS_TOKEN = re.compile(r"[^\s.*>]+|\*")
_NATS_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

_Entry = tuple[Mapping[str, object], Where, tuple[str, ...], Mapping[str, str]]


def parse_triggers(value: object, where: Where, env: Mapping[str, str]) -> tuple[Trigger, ...]:
    """`value` is the raw `triggers` list (or None); `env` the manifest's validated env."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise fail(f"triggers must be a list, was: {show(value)}", where.of("triggers"))
    if len(value) > MAX_TRIGGERS:
        message = f"triggers has {len(value)} entries, more than the {MAX_TRIGGERS} allowed"
        raise fail(message, where.of("triggers"))
    found: list[Trigger] = []
    for i, item in enumerate(value):
        path = ("triggers", str(i))
        kinds = ", ".join(_PARSERS)
        if not isinstance(item, Mapping) or len(item) != 1:
            message = (f"triggers[{i}] must be a mapping with one key naming its kind "
                       f"({kinds}), was: {show(item)}")
            raise fail(message, where.of(*path))
        check_keys(item, tuple(_PARSERS), where, path, noun="trigger kind")
        ((kind, body),) = item.items()
        found.append(_PARSERS[kind](body, where, (*path, kind), env))
    return tuple(found)


def _name(path: tuple[str, ...]) -> str:
    """("triggers", "2", "mqtt", "qos") -> "triggers[2].mqtt.qos"."""
    return f"triggers[{path[1]}]." + ".".join(path[2:])


def _mapping(body: object, where: Where, path: tuple[str, ...], keys: tuple[str, ...],
             example: str) -> Mapping[str, object]:
    if not isinstance(body, Mapping):
        raise fail(f"{_name(path)} must be a mapping like {example}, was: {show(body)}",
                   where.of(*path))
    check_keys(body, keys, where, path)
    return body


def _text(body: Mapping[str, object], key: str, where: Where, path: tuple[str, ...],
          rule: str, ok: Callable[[str], bool]) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not ok(value):
        raise fail(f"{_name((*path, key))} must be {rule}, was: {show(value)}",
                   where.of(*path, key))
    return value


def _strings(value: object, what: str, at: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items or not all(
            isinstance(v, str) and v for v in items):
        raise fail(f"{what} must be a string or a non-empty list of strings, was: {show(value)}",
                   at)
    return tuple(str(v) for v in items)


# --- the kinds -----------------------------------------------------------------------------


def _http(body: object, where: Where, path: tuple[str, ...], _env: Mapping[str, str]) -> Trigger:
    raw = _mapping(body, where, path, ("auth", "cors", "methods", "path"),
                   '{path: "/users/{id}", methods: [GET]}')

    def is_route(p: str) -> bool:
        segments = p[1:].split("/") if p != "/" else []
        names = [s for s in segments if s.startswith("{")]
        return (p.startswith("/") and all(_SEGMENT.fullmatch(s) for s in segments)
                and len(names) == len(set(names)) and len(p) <= 1024)

    route = _text(raw, "path", where, path,
                  "a path like /users/{id}: literal segments and {name} parameters", is_route)
    at = where.of(*path, "methods")
    methods = _strings(opt(raw, "methods", "ANY"), f"{_name((*path, 'methods'))}", at)
    methods = tuple(sorted({m.upper() for m in methods}))
    for m in methods:
        if m not in METHODS:
            raise fail(f"{_name((*path, 'methods'))} must be among {', '.join(METHODS)}, "
                       f"was: {show(m)}", at)
    if "ANY" in methods:
        methods = ("ANY",)
    auth = opt(raw, "auth", "key")
    if auth not in tuple(RouteAuth):
        raise fail(f"{_name((*path, 'auth'))} must be key or public, was: {show(auth)}",
                   where.of(*path, "auth"))
    return HttpTrigger(path=route, methods=methods, auth=RouteAuth(str(auth)),
                       cors=_cors(raw.get("cors"), where, (*path, "cors")))


def _cors(body: object, where: Where, path: tuple[str, ...]) -> Cors | None:
    if body is None:
        return None
    raw = _mapping(body, where, path, ("headers", "max_age", "origins"), '{origins: ["*"]}')
    origins = _strings(raw.get("origins"), _name((*path, "origins")), where.of(*path, "origins"))
    headers = Cors(origins=()).headers
    if raw.get("headers") is not None:
        headers = tuple(h.lower() for h in _strings(
            raw["headers"], _name((*path, "headers")), where.of(*path, "headers")))
    max_age = integer(opt(raw, "max_age", 600), _name((*path, "max_age")), 0, 86400, "s",
                      Where(where.of(*path, "max_age")))
    return Cors(origins=origins, headers=headers, max_age=max_age)


def _cron(body: object, where: Where, path: tuple[str, ...], _env: Mapping[str, str]) -> Trigger:
    raw: Mapping[str, object] = (
        {"schedule": body} if isinstance(body, str)
        else _mapping(body, where, path, ("schedule", "timezone"),
                      '{schedule: "*/5 * * * *", timezone: Europe/Paris}'))
    at = where.of(*path, "schedule") if not isinstance(body, str) else where.of(*path)

    def is_schedule(s: str) -> bool:
        rate = RATE.fullmatch(s.strip())
        if rate is not None:
            return int(rate.group(1)) > 0
        return len(s.split()) == 5 and croniter.is_valid(s)

    schedule = raw.get("schedule")
    if not isinstance(schedule, str) or not is_schedule(schedule):
        rule = ('a 5-field cron expression like "*/5 * * * *" or rate(N minutes|hours|days) '
                "with N >= 1")
        raise fail(f"{_name(path)} schedule must be {rule}, was: {show(schedule)}", at)
    timezone = opt(raw, "timezone", "UTC")
    if not isinstance(timezone, str) or not _is_zone(timezone):
        raise fail(f"{_name((*path, 'timezone'))} must be an IANA time zone like Europe/Paris, "
                   f"was: {show(timezone)}", where.of(*path, "timezone"))
    return CronTrigger(schedule=" ".join(schedule.split()), timezone=timezone)


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _mqtt(body: object, where: Where, path: tuple[str, ...], _env: Mapping[str, str]) -> Trigger:
    raw = _mapping(body, where, path, ("batch", "broker", "qos", "topic"),
                   '{broker: "mqtt://127.0.0.1:1883", topic: "devices/+/telemetry"}')
    broker = _text(raw, "broker", where, path, "a URL like mqtt://host:1883",
                   lambda u: _is_url(u, ("mqtt",)))
    topic = _text(raw, "topic", where, path,
                  "a topic filter: levels split by /, + a whole level, # only last",
                  _is_topic_filter)
    qos = opt(raw, "qos", 0)
    if qos not in (0, 1) or isinstance(qos, bool):
        raise fail(f"{_name((*path, 'qos'))} must be 0 or 1, was: {show(qos)}",
                   where.of(*path, "qos"))
    batch = None
    if raw.get("batch") is not None:
        b = _mapping(raw["batch"], where, (*path, "batch"), ("size", "window"),
                     "{size: 100, window: 500ms}")
        here = Where(where.of(*path, "batch"))
        size = integer(opt(b, "size", 100), _name((*path, "batch", "size")), 1, 10000, "", here)
        window = seconds_of(opt(b, "window", 1.0), _name((*path, "batch", "window")),
                            where.of(*path, "batch", "window"))
        if not 0 < window <= 60:
            raise fail(f"{_name((*path, 'batch', 'window'))} must be more than 0 and at most "
                       f"60s, was: {show(b.get('window'))}", where.of(*path, "batch", "window"))
        batch = Batch(size=size, window=window)
    return MqttTrigger(broker=broker, topic=topic, qos=int(str(qos)), batch=batch)


def _is_url(url: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname) and (port is None or port > 0)


def _is_topic_filter(topic: str) -> bool:
    levels = topic.split("/")
    if not topic or len(topic.encode()) > 65535 or "\x00" in topic:
        return False
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def _nats(body: object, where: Where, path: tuple[str, ...], _env: Mapping[str, str]) -> Trigger:
    raw = _mapping(body, where, path, ("consumer", "stream", "subject", "url"),
                   '{url: "nats://127.0.0.1:4222", subject: orders.created}')
    url = _text(raw, "url", where, path, "a URL like nats://host:4222",
                lambda u: _is_url(u, ("nats", "tls")))
    subject = _text(raw, "subject", where, path,
                    "a subject like orders.created (tokens split by ., * a token, > last)",
                    _is_subject)
    names: dict[str, str | None] = {}
    for key in ("stream", "consumer"):
        if raw.get(key) is None:
            names[key] = None
            continue
        names[key] = _text(raw, key, where, path, "1-64 letters, digits, _ or -",
                           lambda n: bool(_NATS_NAME.fullmatch(n)))
    if names["consumer"] and not names["stream"]:
        raise fail(f"{_name((*path, 'consumer'))} needs a stream: a consumer belongs to a "
                   f"JetStream stream, was: {show(names['consumer'])}", where.of(*path, "consumer"))
    return NatsTrigger(url=url, subject=subject, stream=names["stream"],
                       consumer=names["consumer"])


def _is_subject(subject: str) -> bool:
    tokens = subject.split(".")
    return all(_NATS_TOKEN.fullmatch(t) or (t == ">" and i == len(tokens) - 1)
               for i, t in enumerate(tokens))


def _webhook(body: object, where: Where, path: tuple[str, ...],
             env: Mapping[str, str]) -> Trigger:
    raw = _mapping(body, where, path, ("secret_env",), "{secret_env: HOOK_SECRET}")
    name = raw.get("secret_env")
    at = where.of(*path, "secret_env")
    if not isinstance(name, str) or name not in env:
        raise fail(f"{_name((*path, 'secret_env'))} must name an entry of env holding the "
                   f"signing secret, was: {show(name)}", at)
    if len(env[name]) < 16:
        raise fail(f"env {name} is the webhook secret and must be at least 16 characters, "
                   f"was: {len(env[name])}", at)
    return WebhookTrigger(secret_env=name)


# The rule of `yun.storage.check_bucket_name` (core cannot import storage): S3's.
_BUCKET = re.compile(r"(?!\d+\.\d+\.\d+\.\d+$)(?!.*(\.\.|\.-|-\.))[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BUCKET_EVENTS = ("created", "deleted")
BUCKET_SCHEME = "yun://"


def parse_bucket_destination(target: str) -> tuple[str, str] | None:
    """`yun://BUCKET[/PREFIX]` (an `async.on_success`/`on_failure` bucket) -> (bucket,
    prefix); None for a function target. ValueError when it is a malformed bucket target."""
    if not target.startswith(BUCKET_SCHEME):
        return None
    bucket, _, prefix = target[len(BUCKET_SCHEME):].partition("/")
    parts = prefix.removesuffix("/").split("/") if prefix else []
    if not _BUCKET.fullmatch(bucket) or any(p in ("", ".", "..") for p in parts) or (
            len(prefix) > 512):
        raise ValueError(f"a bucket destination must be yun://BUCKET[/PREFIX] with an S3-style "
                         f"bucket name and a key prefix, was: {target!r}")
    return bucket, prefix


def _bucket(body: object, where: Where, path: tuple[str, ...], _env: Mapping[str, str]) -> Trigger:
    raw = _mapping(body, where, path, ("bucket", "events", "prefix", "suffix"),
                   "{bucket: uploads, events: [created], prefix: images/, suffix: .jpg}")
    bucket = _text(raw, "bucket", where, path,
                   "a bucket name (3-63 of a-z, 0-9, '.', '-')",
                   lambda b: bool(_BUCKET.fullmatch(b)))
    at = where.of(*path, "events")
    events = _strings(opt(raw, "events", "created"), _name((*path, "events")), at)
    for event in events:
        if event not in BUCKET_EVENTS:
            raise fail(f"{_name((*path, 'events'))} must be among {', '.join(BUCKET_EVENTS)}, "
                       f"was: {show(event)}", at)
    affixes = {}
    for key in ("prefix", "suffix"):
        affixes[key] = _text(raw, key, where, path, "a string of at most 1024 characters",
                             lambda a: len(a) <= 1024) if key in raw else ""
    return BucketTrigger(bucket, tuple(sorted(set(events))), affixes["prefix"],
                         affixes["suffix"])


_PARSERS: dict[str, Callable[[object, Where, tuple[str, ...], Mapping[str, str]], Trigger]] = {
    "cron": _cron,
    "http": _http,
    "mqtt": _mqtt,
    "nats": _nats,
    "webhook": _webhook,
    "bucket": _bucket,
}


def trigger_to_dict(t: Trigger) -> dict[str, object]:
    """The stored form: JSON-safe, and read back through `parse_triggers`."""
    if isinstance(t, HttpTrigger):
        http: dict[str, object] = {"path": t.path, "methods": list(t.methods),
                                   "auth": t.auth.value}
        if t.cors is not None:
            http["cors"] = {"origins": list(t.cors.origins), "headers": list(t.cors.headers),
                            "max_age": t.cors.max_age}
        return {"http": http}
    if isinstance(t, CronTrigger):
        return {"cron": {"schedule": t.schedule, "timezone": t.timezone}}
    if isinstance(t, MqttTrigger):
        mqtt: dict[str, object] = {"broker": t.broker, "topic": t.topic, "qos": t.qos}
        if t.batch is not None:
            mqtt["batch"] = {"size": t.batch.size, "window": t.batch.window}
        return {"mqtt": mqtt}
    if isinstance(t, NatsTrigger):
        nats = {"url": t.url, "subject": t.subject, "stream": t.stream, "consumer": t.consumer}
        return {"nats": {k: v for k, v in nats.items() if v is not None}}
    if isinstance(t, BucketTrigger):
        return {"bucket": {"bucket": t.bucket, "events": list(t.events), "prefix": t.prefix,
                           "suffix": t.suffix}}
    return {"webhook": {"secret_env": t.secret_env}}
