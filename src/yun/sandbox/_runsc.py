"""The `runsc` tier (`sandbox: runsc`): every instance in its own gVisor sandbox.

gVisor puts an application kernel (the Sentry) between the function and the host: its
syscalls are served by the Sentry, which itself runs under a narrow seccomp filter, so a
kernel bug reachable from the function is far less likely to be reachable from the host.
It costs start-up time and syscall speed, and there is no fork from a warm template: each
instance is one `runsc run` that imports the handler itself.

Each instance: an OCI bundle (read-only root with only the system's /usr, the Python
installation and the runtime's two packages; the function at /code and its layer at /layer,
read-only; a size-limited /tmp; no network; the tenant's uid; no capabilities), the invoke
socket as stdin and the host-call socket as stdout (the descriptors `runsc` hands in), and
`runsc` with everything it starts (Sentry, Gofer) in the instance's own cgroup, so memory,
pids, CPU and kill work as for the process tier.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

import yun
from yun.core import PlatformError
from yun.protocol import InitFailed, Ready, read_frame
from yun.runtime import _rootfs
from yun.sandbox._cgroups import Cgroup, CgroupTree, Limits, discard_cgroup
from yun.sandbox._types import InitError, SandboxInstance, TemplateSpec

log = logging.getLogger("yun.sandbox")

# The Sentry and the Gofer live in the instance's group too: room for them on top of the
# function's memory (they use 30-60 MiB here).
OVERHEAD_MB = 128
START_TIMEOUT = 60.0


class RunscTier:
    def __init__(self, cgroups: CgroupTree, state_dir: Path, log_path: Path) -> None:
        self.cgroups = cgroups
        self.state_dir = state_dir  # runsc's --root (container state) and the bundles
        self.log_path = log_path
        # Every instance's watcher, which runs `runsc delete` once its sandbox has exited.
        self.watchers: set[asyncio.Task[None]] = set()

    async def stop(self, seconds: float = 10.0) -> None:
        """Wait for the watchers of exited (or exiting) instances: a `runsc delete` still
        running when the node exits would outlive it."""
        if self.watchers:
            _, pending = await asyncio.wait(set(self.watchers), timeout=seconds)
            if pending:
                log.warning("%d runsc instances were still being deleted %g s after the node "
                            "stopped; their runsc processes may outlive yun up (see %s)",
                            len(pending), seconds, self.log_path)

    async def start_template(self, spec: TemplateSpec,
                             on_exit: Callable[[int, int], None]) -> RunscTemplate:
        binary = shutil.which("runsc")
        if binary is None:
            raise InitError("SandboxError", "sandbox: runsc needs gVisor's runsc on this node "
                            "(apt-get install runsc); it was not found on PATH", "")
        bundle = self.state_dir / "bundles" / spec.key
        await asyncio.to_thread(_write_root, bundle / "root", spec)
        group = self.cgroups.create(f"{spec.key}.t-runsc", Limits(memory_mb=16, pids=1))
        return RunscTemplate(self, spec, binary, bundle, group, on_exit)


class RunscTemplate:
    """Not a process: what every instance of the version is started from."""

    def __init__(self, tier: RunscTier, spec: TemplateSpec, binary: str, bundle: Path,
                 group: Cgroup, on_exit: Callable[[int, int], None]) -> None:
        self.tier = tier
        self.spec = spec
        self.binary = binary
        self.bundle = bundle
        self.group = group  # empty: only so the template looks like the process tier's
        self.init_ms = 0.0
        self.alive = True
        self._on_exit = on_exit
        self._instances: dict[str, Cgroup] = {}

    async def fork(self, instance_id: str) -> SandboxInstance:
        if not self.alive:
            raise PlatformError(f"the runsc template of {self.spec.key} is closed")
        started = time.perf_counter()
        spec = self.spec
        group = self.tier.cgroups.create(
            instance_id, Limits(memory_mb=spec.memory_mb + OVERHEAD_MB, cpu=spec.cpu),
            tenant=spec.tenant)
        bundle = self.bundle / instance_id
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / "config.json").write_text(json.dumps(_config(spec, self.bundle / "root")))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        host_ours, host_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        procs = group.procs_fds()
        state = str(self.tier.state_dir / "state")
        container = _container_id(instance_id)
        command = [self.binary, "--root", state, "--network=none", "--ignore-cgroups",
                   "run", "--bundle", str(bundle), container]

        def join_group() -> None:  # in the child, before exec: everything runsc starts
            for fd in procs:
                os.write(fd, b"0")

        try:
            with open(self.tier.log_path, "ab") as log:
                process = await asyncio.create_subprocess_exec(
                    *command, stdin=theirs.fileno(), stdout=host_theirs.fileno(), stderr=log,
                    preexec_fn=join_group, start_new_session=True)
        except BaseException:
            ours.close()
            host_ours.close()
            discard_cgroup(group)
            raise
        finally:
            theirs.close()
            host_theirs.close()
            for fd in procs:
                os.close(fd)
        self._instances[instance_id] = group
        watcher = asyncio.get_running_loop().create_task(self._watch(process, instance_id, state))
        self.tier.watchers.add(watcher)
        watcher.add_done_callback(self.tier.watchers.discard)
        failure = "its first frame was neither Ready nor InitFailed"
        try:
            ours.setblocking(True)
            ours.settimeout(START_TIMEOUT)
            reply, _ = await asyncio.to_thread(read_frame, ours)
        except (OSError, EOFError, TimeoutError) as exc:
            reply = None
            failure = str(exc) or type(exc).__name__
        if not isinstance(reply, Ready):
            discard_cgroup(group)  # its processes die with it; the watcher deletes the state
            ours.close()
            host_ours.close()
            if isinstance(reply, InitFailed):
                raise InitError(reply.error_type, reply.message, reply.traceback)
            raise InitError("SandboxError", f"the runsc sandbox did not start ({failure}); see "
                            f"the sandbox log at {self.tier.log_path}", "")
        ours.settimeout(None)
        ours.setblocking(False)
        self.init_ms = reply.init_ms
        return SandboxInstance(id=instance_id, pid=process.pid, sock=ours, host_sock=host_ours,
                               cgroup=group, fork_ms=(time.perf_counter() - started) * 1000)

    async def _watch(self, process: asyncio.subprocess.Process, instance_id: str,
                     state: str) -> None:
        code = await process.wait()
        self._instances.pop(instance_id, None)
        # A killed sandbox leaves its state behind; `delete` also ends what may still run.
        delete = await asyncio.create_subprocess_exec(
            self.binary, "--root", state, "delete", "--force", _container_id(instance_id),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await delete.wait()
        await asyncio.to_thread(shutil.rmtree, self.bundle / instance_id, True)
        self._on_exit(process.pid, code)

    def close(self) -> None:
        """Stop every instance started from here (as a process template's exit would)."""
        self.alive = False
        for group in list(self._instances.values()):
            group.kill()
        discard_cgroup(self.group)


def _container_id(instance_id: str) -> str:
    """runsc takes letters, digits and `_+-.` in a container id; instance ids have `@`."""
    return re.sub(r"[^\w+.-]", "-", instance_id)


def _write_root(root: Path, spec: TemplateSpec) -> None:
    """The bundle's read-only root: only the mount points (gVisor cannot create them in a
    read-only root) and the /usr symlinks."""
    for name in ("proc", "dev", "tmp", "etc", "usr", _rootfs.CODE[1:], _rootfs.LAYER[1:]):
        (root / name).mkdir(parents=True, exist_ok=True)
    for link, target in _rootfs.USR_LINKS:
        if os.path.islink(f"/{link}") and not (root / link).is_symlink():
            (root / link).symlink_to(target)
    for path in _rootfs.platform_paths():
        (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    hostname = spec.hostname
    (root / "etc" / "hostname").write_text(f"{hostname}\n")
    (root / "etc" / "passwd").write_text(f"fn:x:{spec.uid}:{spec.uid}::/tmp:/bin/false\n")
    (root / "etc" / "group").write_text(f"fn:x:{spec.uid}:\n")
    (root / "etc" / "hosts").write_text(f"127.0.0.1 localhost {hostname}\n")


def _config(spec: TemplateSpec, root: Path) -> dict[str, object]:
    """The OCI runtime spec of one instance."""
    python = str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}."
                 f"{sys.version_info[1]}")
    # -S: no site-packages; the runtime's two packages come from where they are mounted.
    packages = sorted({str(Path(msgspec.__file__).parent.parent),
                       str(Path(yun.__file__).parent.parent)})
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": ":".join(packages), **spec.env}
    bind = ["rbind", "ro", "nosuid", "nodev"]
    mounts: list[dict[str, object]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", f"size={spec.tmp_mb}m"]},
        {"destination": "/usr", "type": "bind", "source": "/usr", "options": bind},
        {"destination": _rootfs.CODE, "type": "bind", "source": spec.code_dir, "options": bind},
    ]
    mounts += [{"destination": p, "type": "bind", "source": p, "options": bind}
               for p in _rootfs.platform_paths()]
    if spec.layer_dir:
        mounts.append({"destination": _rootfs.LAYER, "type": "bind", "source": spec.layer_dir,
                       "options": bind})
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": spec.uid, "gid": spec.uid},
            "args": [python, "-S", "-m", "yun.runtime.gvisor", spec.handler,
                     str(spec.concurrency)],
            "env": [f"{k}={v}" for k, v in env.items()],
            "cwd": _rootfs.CODE,
            "capabilities": {"bounding": [], "effective": [], "inheritable": [],
                             "permitted": [], "ambient": []},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(root), "readonly": True},
        "hostname": spec.hostname,
        "mounts": mounts,
        "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts",
                                                        "mount")]},
    }
