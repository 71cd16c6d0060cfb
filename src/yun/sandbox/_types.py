"""The contract between the node agent and any sandbox tier."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Protocol

from yun.sandbox._cgroups import Cgroup


@dataclass(frozen=True)
class TemplateSpec:
    """What a tier needs to start a function version's template."""

    key: str  # "function@version", unique per node
    code_dir: str
    layer_dir: str | None
    handler: str
    env: dict[str, str]
    network: str
    hostname: str
    memory_mb: int
    concurrency: int
    uid: int  # the tenant's own unprivileged uid (and gid)
    tmp_mb: int = 64
    max_instances: int = 1000  # scale.max: sizes the template's fork headroom
    tenant: str = "default"  # instances share their tenant's CPU group
    cpu: float | None = None  # cores per instance (a CFS quota); None: no cap
    tier: str = "process"  # or "runsc" (`sandbox:` in yun.yaml)


@dataclass
class SandboxInstance:
    """A running instance: its socket to the node and its cgroup."""

    id: str
    pid: int  # inside the function's pid namespace
    sock: socket.socket
    host_sock: socket.socket  # the instance's host calls (buckets, invoking functions)
    cgroup: Cgroup
    fork_ms: float
    import_cpu_ms: float | None = None  # the CPU its version's import took, where measured


class SandboxTemplate(Protocol):
    """What a tier's template offers the node agent: instances of one function version."""

    alive: bool
    group: Cgroup
    init_ms: float

    async def fork(self, instance_id: str) -> SandboxInstance: ...

    def close(self) -> None: ...


class InitError(Exception):
    """The handler could not be loaded (import failed, missing attribute, sandbox died)."""

    def __init__(self, error_type: str, message: str, traceback: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.traceback = traceback
