"""Value types shared by every package. Plain frozen dataclasses: no I/O, no framework."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple


class Status(StrEnum):
    """How an invocation ended. Exactly one per accepted invocation."""

    SUCCESS = "success"
    ERROR = "error"  # the handler raised
    TIMEOUT = "timeout"  # the handler ran past its timeout; its instance was killed
    OOM = "oom"  # the instance exceeded its memory limit
    CRASHED = "crashed"  # the instance died without answering (exit, signal, init failure)
    THROTTLED = "throttled"  # refused before running: buffers full or limits reached


class Network(StrEnum):
    NONE = "none"
    EGRESS = "egress"


class Tier(StrEnum):
    """The isolation an instance runs in (`sandbox:` in yun.yaml)."""

    PROCESS = "process"  # forked from a warm template into namespaces, cgroups, seccomp
    RUNSC = "runsc"  # a gVisor sandbox per instance: its own application kernel


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    min: int = 0
    max: int = 10
    target: float = 1.0  # in-flight requests per instance the autoscaler aims for
    keep_alive: float = 600.0  # seconds an idle instance stays warm
    keep_alive_policy: Literal["fixed", "hybrid"] = "fixed"  # hybrid: idle-time histogram
    window: float | None = None  # the autoscaler's stable window; None: from keep_alive
    target_utilization: float = 1.0  # aim each instance at this fraction of `target`
    histogram_range: float | None = None  # hybrid: longest idle time binned; None: 4 h


class RouteAuth(StrEnum):
    KEY = "key"  # the tenant's API key, as `/fn/`
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Cors:
    origins: tuple[str, ...]  # "*" or exact origins like https://app.example
    headers: tuple[str, ...] = ("authorization", "content-type")
    max_age: int = 600  # seconds a browser may cache a preflight answer


@dataclass(frozen=True, slots=True)
class HttpTrigger:
    """`METHOD /path/{param}` served synchronously under the tenant's route prefix."""

    path: str
    methods: tuple[str, ...] = ("ANY",)
    auth: RouteAuth = RouteAuth.KEY
    cors: Cors | None = None


@dataclass(frozen=True, slots=True)
class CronTrigger:
    """A 5-field cron expression or `rate(N minutes|hours|days)`, in `timezone`."""

    schedule: str
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Batch:
    size: int  # messages per invocation at most
    window: float  # seconds the first message of a batch waits for more


@dataclass(frozen=True, slots=True)
class MqttTrigger:
    broker: str  # mqtt://host[:port]
    topic: str  # a filter: `+` one level, `#` the rest
    qos: int = 0
    batch: Batch | None = None


@dataclass(frozen=True, slots=True)
class NatsTrigger:
    """A core subject, or a JetStream consumer when `stream` is given."""

    url: str
    subject: str
    stream: str | None = None
    consumer: str | None = None  # a durable name; defaults to one per function


@dataclass(frozen=True, slots=True)
class WebhookTrigger:
    secret_env: str  # the env entry holding the HMAC secret


@dataclass(frozen=True, slots=True)
class BucketTrigger:
    """Object events (`created`, `deleted`) of one of the tenant's buckets whose key starts
    with `prefix` and ends with `suffix`."""

    bucket: str
    events: tuple[str, ...] = ("created",)
    prefix: str = ""
    suffix: str = ""


Trigger = HttpTrigger | CronTrigger | MqttTrigger | NatsTrigger | WebhookTrigger | BucketTrigger


@dataclass(frozen=True, slots=True)
class AsyncSpec:
    """How async invocations of a function are retried and where their outcomes go."""

    retries: int = 2  # attempts after the first
    max_age: float = 6 * 3600.0  # seconds from acceptance; older events go to dead letters
    on_success: str | None = None  # a function[:qualifier] that gets the result record
    on_failure: str | None = None  # one that gets the record after the last failure


@dataclass(frozen=True, slots=True)
class Manifest:
    """A function's configuration, validated (see `yun.core.manifest`)."""

    name: str
    handler: str  # module:function
    runtime: str = "python3.11"
    memory: int = 128  # MiB
    cpu: float | None = None  # cores per instance; None: in proportion to memory (manifest.py)
    timeout: float = 10.0  # seconds
    concurrency: int = 1
    scale: ScaleSpec = field(default_factory=ScaleSpec)
    env: dict[str, str] = field(default_factory=dict)
    requirements: str | None = None
    network: Network = Network.NONE
    sandbox: Tier = Tier.PROCESS
    triggers: tuple[Trigger, ...] = ()
    async_: AsyncSpec = field(default_factory=AsyncSpec)  # `async:` in yun.yaml

    @property
    def module(self) -> str:
        return self.handler.partition(":")[0]

    @property
    def attribute(self) -> str:
        return self.handler.partition(":")[2]


@dataclass(frozen=True, slots=True)
class Version:
    """An immutable, numbered deploy of a function."""

    function: str
    number: int
    code_hash: str
    layer_hash: str | None
    manifest: Manifest
    created_at: float


@dataclass(frozen=True, slots=True)
class Alias:
    """A name for a version, optionally splitting traffic: `weights` maps other versions to %."""

    function: str
    name: str
    version: int
    weights: dict[int, int] = field(default_factory=dict)


class ActivationRecord(NamedTuple):
    """The one terminal record of an accepted invocation, and the unit of metering.

    A named tuple: one is built for every invocation (a frozen dataclass took 2.5x as
    long), and the store keeps it as an array in this field order (`store._activations`)."""

    id: str
    tenant: str
    function: str
    version: int
    start: float  # wall-clock seconds since the epoch
    end: float
    duration_ms: float
    init_ms: float  # cold-start time this invocation waited for; 0 when warm
    wait_ms: float  # time spent queued in the activator
    memory_mb: int
    max_rss_mb: float
    status: Status
    billed_ms: int
    gb_seconds: float
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None


def activation_id() -> str:
    """A new activation's id: 32 hex digits, the milliseconds since the epoch (12 digits)
    and then 80 random bits. Ids sort by time, so each record lands at the end of the
    store's primary-key index instead of at a random page of it (half the insert's cost)."""
    # `random`, not `os.urandom`: a system call per invocation cost more than the rest of
    # the id, and ids need to be unique, not secret (the module reseeds after a fork).
    # One 128-bit number turned into hex once: a quarter of the cost of formatting two.
    return (int(time.time() * 1000) << 80 | random.getrandbits(80)).to_bytes(16, "big").hex()


def billed_ms(duration_ms: float) -> int:
    """Billing rounds up to the next whole millisecond (as Lambda does since 2020)."""
    return max(1, math.ceil(duration_ms - 1e-9))


def gb_seconds(billed: int, memory_mb: int) -> float:
    return (memory_mb / 1024.0) * (billed / 1000.0)
