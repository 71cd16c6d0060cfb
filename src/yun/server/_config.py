"""One typed configuration, validated at start: defaults → `YUN_*` environment → flags."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from yun.core import InvalidRequest
from yun.storage import parse_buckets_url

WALLS = ("pivot_root", "seccomp", "privileges", "netns")


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".yun")
    queue_depth: int = 100  # requests buffered per function version while instances start
    max_wait: float = 30.0  # longest a request waits in that buffer (s)
    tick_seconds: float = 0.5  # autoscaler period (s)
    drain_seconds: float = 30.0  # longest a shutdown waits for in-flight requests (s)
    namespaces: bool = True  # new mount/pid/ipc/uts/net namespaces per function
    memory_reserve_mb: int = 256  # memory an instance start must leave free for the platform
    blanks: int = 2  # sandboxes kept started ahead of demand (cuts cold starts)
    # Where buckets live: empty for `<data dir>/buckets`, else an S3-compatible store as
    # s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=NAME (`yun.storage.S3Buckets`).
    buckets_url: str = ""
    max_object_bytes: int = 5 << 30  # one object PUT through /v1/buckets
    queue_url: str = ""  # async queue: "" = the store's SQLite, postgresql://…, nats://…
    async_in_flight: int = 256  # async invocations running at once over all functions
    # Comma-separated walls to leave out, to measure what each costs (bench/hardening.py):
    # pivot_root, seccomp, privileges, netns. Never for untrusted code.
    walls_off: str = ""
    async_max_queued: int = 100_000  # async jobs waiting or running per tenant, then 429

    def validate(self) -> Config:
        if not 0 < self.port < 65536:
            raise InvalidRequest(f"port must be 1..65535, was: {self.port}")
        if self.memory_reserve_mb < 0 or self.blanks < 0:
            raise InvalidRequest(f"memory_reserve_mb and blanks must be 0 or more, were: "
                                 f"{self.memory_reserve_mb}, {self.blanks}")
        if self.queue_url and not self.queue_url.startswith(_QUEUE_SCHEMES):
            raise InvalidRequest("queue_url must start with sqlite, postgresql:// or nats://, "
                                 f"was: {self.queue_url!r}")
        for name in ("async_in_flight", "async_max_queued"):
            if getattr(self, name) < 1:
                raise InvalidRequest(f"{name} must be at least 1, was: {getattr(self, name)}")
        if self.queue_depth < 1:
            raise InvalidRequest(f"queue_depth must be at least 1, was: {self.queue_depth}")
        if self.buckets_url:
            parse_buckets_url(self.buckets_url)
        if self.max_object_bytes < 1:
            raise InvalidRequest(f"max_object_bytes must be positive, was: "
                                 f"{self.max_object_bytes}")  # fmt: skip
        unknown = set(self.walls) - set(WALLS)
        if unknown:
            raise InvalidRequest(f"walls_off names walls from {', '.join(WALLS)}, was: "
                                 f"{self.walls_off!r}")
        for name in ("max_wait", "tick_seconds", "drain_seconds"):
            if getattr(self, name) <= 0:
                raise InvalidRequest(f"{name} must be positive, was: {getattr(self, name)}")
        return self

    @property
    def walls(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.walls_off.split(",") if w.strip())

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'yun.db'}"

    def show(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def load_config(**flags: object) -> Config:
    """Defaults, then `YUN_<FIELD>` variables, then the flags that were given (not None)."""
    config = Config()
    for field in fields(Config):
        raw = os.environ.get(f"YUN_{field.name.upper()}")
        if raw is not None:
            changes: dict[str, Any] = {field.name: _parse(field.name, raw)}
            config = replace(config, **changes)
    given: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    return replace(config, **given).validate()


def _parse(name: str, raw: str) -> object:
    default = getattr(Config(), name)
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
    except ValueError:
        raise InvalidRequest(
            f"YUN_{name.upper()} must be {_KIND[type(default)]}, was: {raw!r}") from None
    return raw


_QUEUE_SCHEMES = ("sqlite", "postgresql", "postgres://", "nats://", "tls://")
_KIND = {bool: "true or false", int: "an int", float: "a number", Path: "a path", str: "a string"}
