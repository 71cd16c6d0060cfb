"""The messages exchanged between the node agent, the zygote, templates and instances.

Every frame is a small msgpack header (one of the tagged structs below) plus an optional raw
body, so payloads are never re-encoded on the way through.
"""

from __future__ import annotations

import msgspec


class SpawnTemplate(msgspec.Struct, tag=True):
    """node → zygote: fork a sandboxed template for one function version.

    fds passed alongside: [control socket of the new template, cgroup.procs of each controller],
    then, for `network: egress` in namespaces, the prepared network namespace to enter.
    """

    key: str  # function@version, for logs
    code_dir: str
    layer_dir: str | None
    handler: str  # module:function
    env: dict[str, str]
    network: str  # "none" | "egress"
    hostname: str
    concurrency: int
    uid: int = 65534
    gid: int = 65534
    tmp_mb: int = 64
    namespaces: bool = True
    blank: bool = False  # prepare the sandbox only; the function arrives later in Specialise
    walls_off: tuple[str, ...] = ()  # only to measure each wall's cost (server Config)


class Specialise(msgspec.Struct, tag=True):
    """node → blank sandbox: become the template of this function, or with `serve` its
    first instance (no template, no fork).

    fds passed alongside: with `serve`, [instance socket, host-call socket, cgroup.procs of
    each controller the instance joins]; then, for `network: egress`, the prepared network
    namespace to enter.
    """

    spec: SpawnTemplate
    serve: bool = False


class Spawned(msgspec.Struct, tag=True):
    """zygote → node: the template's first process is running (host pid)."""

    pid: int


class SpawnFailed(msgspec.Struct, tag=True):
    message: str


class Ready(msgspec.Struct, tag=True):
    """template → node: the handler module imported; init_ms is the import time, cpu_ms the
    CPU it took (unlike the time, not stretched by other work on the machine)."""

    init_ms: float
    cpu_ms: float | None = None


class InitFailed(msgspec.Struct, tag=True):
    """template → node: importing the handler failed; the template exits after this."""

    error_type: str
    message: str
    traceback: str


class Fork(msgspec.Struct, tag=True):
    """node → template: fork one instance.

    fds passed alongside: [instance socket, host-call socket, cgroup.procs of each controller].
    """

    instance: str


class Forked(msgspec.Struct, tag=True):
    instance: str
    pid: int  # pid inside the function's pid namespace


class Exited(msgspec.Struct, tag=True):
    """template → node: a child of the template ended (status as os.waitstatus_to_exitcode)."""

    pid: int
    exit_code: int


class Invoke(msgspec.Struct, tag=True):
    """node → instance. The body is the event's JSON bytes."""

    id: str
    timeout_ms: int
    function: str
    version: int
    memory_mb: int
    tenant: str
    depth: int = 0  # hops of functions invoking functions before this one (X-Yun-Depth)


class LogRecord(msgspec.Struct, array_like=True):
    stream: str
    time: float
    line: str


class Result(msgspec.Struct, tag=True):
    """instance → node. The body is the HTTP response body (JSON for plain returns)."""

    id: str
    ok: bool
    status_code: int = 200
    headers: list[tuple[str, str]] = []
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    logs: list[LogRecord] = []
    max_rss_kb: int = 0
    duration_ms: float = 0.0


class HostCall(msgspec.Struct, tag=True):
    """instance → node, on the instance's host-call socket: ask the platform to act for the
    invocation `request_id` (its tenant's buckets, invoking another function). The body is
    the call's payload (an object's bytes, an event's JSON)."""

    id: int
    request_id: str
    op: str
    args: dict[str, str | int | bool | None] = {}


class HostReply(msgspec.Struct, tag=True):
    """node → instance: the answer to one HostCall. The body is the payload (object bytes)."""

    id: int
    ok: bool
    value: object = None  # JSON-like
    error_type: str | None = None  # "NotFound", "Invalid", "Forbidden", "Refused", ...
    message: str | None = None


Message = (
    SpawnTemplate
    | Specialise
    | Spawned
    | SpawnFailed
    | Ready
    | InitFailed
    | Fork
    | Forked
    | Exited
    | Invoke
    | Result
    | HostCall
    | HostReply
)
