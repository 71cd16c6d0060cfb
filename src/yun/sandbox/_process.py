"""The process tier: templates forked from a zygote into namespaces and cgroups.

Node-agent side of the sandbox. The in-sandbox half (unshare, mounts, import, fork server)
lives in `yun.runtime`; hardening (uids, seccomp, pivot_root) slots into both halves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from yun.core import PlatformError, Tier
from yun.protocol import (
    Exited,
    Fork,
    Forked,
    InitFailed,
    Ready,
    Spawned,
    SpawnTemplate,
    Specialise,
)
from yun.runtime._rootfs import STAGING
from yun.sandbox._blanks import QUIET_SECONDS, BlankDemand, memory_ceiling
from yun.sandbox._cgroups import (
    Cgroup,
    CgroupTree,
    Limits,
    discard_cgroup,
    favor_dynamic_changes,
)
from yun.sandbox._channel import ControlChannel, seqpacket_pair
from yun.sandbox._kernel import idle_memory_monitor
from yun.sandbox._network import EgressNetwork
from yun.sandbox._runsc import RunscTier
from yun.sandbox._types import InitError, SandboxInstance, SandboxTemplate, TemplateSpec

log = logging.getLogger("yun.sandbox")

# Per live instance, the template's group holds ~1.1 MiB (measured at 1,000 instances on
# kernel 6.18): its page tables and stack (~0.2 MiB of kernel memory), and every page the
# template wrote after the fork, whose old copy the instance still maps (the loop that forks
# touches ~0.9 MiB). cgroup v1 no longer moves these charges when the instance changes group.
FORK_HEADROOM_BASE_MB = 256
FORK_HEADROOM_PER_INSTANCE_MB = 2
FORK_PIDS = 4096  # the template's group also counts its instances (they share its pid namespace)


class ProcessSandbox:
    """Owns the zygote, and through it every template and instance on this node."""

    def __init__(self, log_path: Path, namespaces: bool = True, blanks: int = 2,
                 walls_off: tuple[str, ...] = ()) -> None:
        self.log_path = log_path
        self.namespaces = namespaces
        self.walls_off = walls_off
        self.blanks = blanks
        # The pool grows from `blanks` to the largest recent burst of template starts, within
        # a memory budget (see `_blanks`).
        self.demand = BlankDemand(floor=blanks, ceiling=memory_ceiling(_total_mb(), blanks))
        self._blanks: deque[tuple[ControlChannel, Cgroup]] = deque()
        self._refill = asyncio.Event()
        self._starting = 0  # template starts and forks in progress: no refill while any runs
        self.cgroups = CgroupTree()
        # runsc keeps container state and bundles beside the logs dir, in the data dir.
        self.runsc = RunscTier(self.cgroups, log_path.parent.parent / "runsc", log_path)
        self.network = EgressNetwork()
        self._zygote: subprocess.Popen[bytes] | None = None
        self._control: ControlChannel | None = None
        self._lock: asyncio.Lock | None = None

    def start(self) -> None:
        """Start the zygote. Called before the event loop runs (no loop needed)."""
        if not self.cgroups.available:
            raise PlatformError(
                "cannot create cgroups under /sys/fs/cgroup/yun: the process tier needs root "
                "(or a delegated cgroup) to limit memory and processes"
            )
        self.cgroups.remove_stale()
        try:
            self.cgroups.enter_platform()  # before the zygote: it forks on the platform's behalf
        except OSError as exc:
            log.warning("could not move into the platform's CPU group (%s): requests may wait "
                        "behind busy instances", exc)
        if self.walls_off:
            log.warning("sandbox walls left out: %s (for measuring their cost only; never run "
                        "untrusted code like this)", ", ".join(self.walls_off))
        if self.namespaces:
            self.network.remove_stale()
        os.makedirs(STAGING, mode=0o755, exist_ok=True)
        idle_memory_monitor()
        if not favor_dynamic_changes():
            log.warning("could not set the cgroup2 option favordynmods: each cold start will "
                        "wait for an RCU grace period (10-20 ms) when it joins its cgroup")
        ours, theirs = seqpacket_pair()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self._zygote = subprocess.Popen(
                [sys.executable, "-m", "yun.runtime.zygote", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # Ctrl-C reaches `yun up`, which drains before we stop
                env=_zygote_env(),
            )
        theirs.close()
        self._control = ControlChannel(ours)

    async def start_template(self, spec: TemplateSpec,
                             on_exit: Callable[[int, int], None]) -> SandboxTemplate:
        """A template for `spec`, ready to fork: from a pre-started blank when one fits
        (`runsc`: what each instance's own gVisor sandbox is started from)."""
        if spec.tier == Tier.RUNSC:
            return await self.runsc.start_template(spec, on_exit)
        started = time.perf_counter()
        self.demand.started(time.monotonic())
        with self.cold_step():
            return await self._start_template(spec, on_exit, started)

    @contextlib.contextmanager
    def cold_step(self) -> Iterator[None]:
        """A template start or an instance fork runs: the blank refill waits until none has
        for a while (a refill during a burst competes with its cold starts for the CPU)."""
        self._starting += 1
        try:
            yield
        finally:
            self._starting -= 1
            self.demand.busy(time.monotonic())
            self._refill.set()

    async def _start_template(self, spec: TemplateSpec, on_exit: Callable[[int, int], None],
                              started: float) -> Template:
        message = self._message(spec)
        # The sandbox enters the namespace through its own copy of the descriptor (passed with
        # the message), so ours is closed once sent: the namespace then lives exactly as long as
        # the sandbox's processes, and its veth pair goes with it.
        netns = (await self.network.take()
                 if self.namespaces and spec.network == "egress" and "netns" not in self.walls_off
                 else None)
        extra = [netns.fd] if netns is not None else []
        try:
            blank = self._take_blank()
            if blank is not None:
                channel, group = blank
                group.set_limits(Limits(memory_mb=spec.memory_mb))
                try:
                    await channel.send(Specialise(spec=message), extra)
                except OSError:
                    channel.close()
                    discard_cgroup(group)
                    blank = None
            if blank is None:
                group = self.cgroups.create(f"{spec.key}.t{os.urandom(3).hex()}",
                                            Limits(memory_mb=spec.memory_mb))
                channel = await self._spawn(message, group, extra)
        finally:
            if netns is not None:
                netns.close()
        template = Template(self, spec, channel, group, on_exit)
        try:
            await template.wait_ready(started)
        finally:
            if netns is not None:
                self.network.replenish()
        # The import ran under the function's own limit. From now on the template only forks,
        # and its group keeps ~1 MiB per live instance (see FORK_HEADROOM_PER_INSTANCE_MB):
        # without headroom for `scale.max` of them the template is OOM-killed, and as pid 1
        # of its namespace it takes every instance with it.
        headroom = FORK_HEADROOM_BASE_MB + FORK_HEADROOM_PER_INSTANCE_MB * spec.max_instances
        group.set_limits(Limits(memory_mb=spec.memory_mb + headroom, pids=FORK_PIDS))
        return template

    async def serve_first(self, spec: TemplateSpec, instance_id: str) -> SandboxInstance | None:
        """A version's first instance, served by a blank itself: it imports the handler and
        serves, with no template to fork from: no fork and two cgroups fewer, ≈ 2.4 ms less
        CPU per cold start (a third). None when that cannot be (`runsc`; no blank waiting;
        the blank died): the caller then starts a template as usual."""
        if spec.tier == Tier.RUNSC:
            return None
        blank = self._take_blank()
        if blank is None:
            return None
        started = time.perf_counter()
        self.demand.started(time.monotonic())
        with self.cold_step():
            return await self._serve_first(spec, instance_id, *blank, started)

    async def _serve_first(self, spec: TemplateSpec, instance_id: str, channel: ControlChannel,
                           blank: Cgroup, started: float) -> SandboxInstance | None:
        message = self._message(spec)
        netns = (await self.network.take()
                 if self.namespaces and spec.network == "egress" and "netns" not in self.walls_off
                 else None)
        # The import runs under the function's memory limit (as a template's does), without
        # the instance's CPU quota: the instance's groups are joined once it is done.
        blank.set_limits(Limits(memory_mb=spec.memory_mb))
        joined = self.cgroups.instance_groups(
            instance_id, Limits(memory_mb=spec.memory_mb, cpu=spec.cpu), tenant=spec.tenant)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        host_ours, host_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        procs = joined.procs_fds()
        reply, sent = None, False
        try:
            try:
                await channel.send(Specialise(spec=message, serve=True),
                                   [theirs.fileno(), host_theirs.fileno(), *procs,
                                    *([netns.fd] if netns is not None else [])])
            finally:
                theirs.close()
                host_theirs.close()
                for fd in procs:
                    os.close(fd)
                if netns is not None:
                    netns.close()
            sent = True
            reply, _ = await channel.recv()
        except (OSError, EOFError):
            pass
        finally:
            channel.close()  # the instance closed its end after Ready; it has no more to say
            if netns is not None:
                self.network.replenish()
        if not isinstance(reply, Ready):
            ours.close()
            host_ours.close()
            discard_cgroup(blank)
            discard_cgroup(joined)
            if not sent:
                return None  # the blank was gone before it heard of the function
            raise self.start_failed(reply)
        try:
            group = self.cgroups.adopt(blank, joined, instance_id, spec.memory_mb)
        except OSError as exc:
            ours.close()  # the instance sees EOF and exits
            host_ours.close()
            discard_cgroup(blank)
            discard_cgroup(joined)
            raise PlatformError(f"could not set up the cgroups of {instance_id}: {exc}") from exc
        return SandboxInstance(id=instance_id, pid=1, sock=ours, host_sock=host_ours,
                               cgroup=group, fork_ms=(time.perf_counter() - started) * 1000,
                               import_cpu_ms=reply.cpu_ms)

    def start_failed(self, reply: object) -> InitError:
        """Why a sandbox answered something else than Ready: the handler's own error, or
        the sandbox's exit (its log says more)."""
        if isinstance(reply, InitFailed):
            return InitError(reply.error_type, reply.message, reply.traceback)
        return InitError("SandboxError", "the sandbox exited during start-up (see the "
                         f"sandbox log at {self.log_path})", "")

    def _message(self, spec: TemplateSpec) -> SpawnTemplate:
        return SpawnTemplate(
            key=spec.key,
            code_dir=spec.code_dir,
            layer_dir=spec.layer_dir,
            handler=spec.handler,
            env=spec.env,
            network=spec.network,
            hostname=spec.hostname,
            concurrency=spec.concurrency,
            uid=spec.uid,
            gid=spec.uid,
            tmp_mb=spec.tmp_mb,
            namespaces=self.namespaces,
            walls_off=self.walls_off,
        )

    async def _spawn(self, message: SpawnTemplate, group: Cgroup,
                     extra: list[int] | None = None) -> ControlChannel:
        """Ask the zygote for a sandbox process in `group`; its control channel. `extra`
        descriptors (the network namespace) are passed after the cgroup ones, not closed."""
        if self._control is None:
            raise PlatformError("the sandbox is not started")
        if self._lock is None:
            self._lock = asyncio.Lock()
        ours, theirs = seqpacket_pair()
        cgroup_fds = group.procs_fds()
        fds = [theirs.fileno(), *cgroup_fds, *(extra or [])]
        try:
            async with self._lock:
                await self._control.send(message, fds)
                reply, _ = await self._control.recv()
        except EOFError as exc:
            ours.close()
            discard_cgroup(group)
            raise PlatformError("the zygote exited; see the sandbox log") from exc
        finally:
            # Close `theirs` through its socket object: an os.close() of its number would
            # leave the object to close the same number again later, by then maybe an HTTP
            # connection's.
            theirs.close()
            for fd in cgroup_fds:
                os.close(fd)
        if not isinstance(reply, Spawned):
            ours.close()
            discard_cgroup(group)
            raise PlatformError(f"could not start a sandbox for {message.key}: {reply}")
        return ControlChannel(ours)

    def expect_egress(self) -> None:
        """An egress function was deployed: have a network namespace (and the firewall table)
        made before its first cold start, which would otherwise wait ~70-100 ms for them."""
        if self.namespaces and "netns" not in self.walls_off:
            self.network.replenish()

    # -- blanks: sandboxes started ahead of demand --------------------------------------------

    def _take_blank(self) -> tuple[ControlChannel, Cgroup] | None:
        # Blanks serve `network: egress` too: they swap their private network namespace for
        # the prepared one when they learn their function.
        while self._blanks:
            channel, group = self._blanks.popleft()
            if not channel.closed:
                return channel, group
        return None

    async def keep_blanks(self) -> None:
        """Keep `blanks` sandboxes started and waiting, so a cold start skips the zygote fork,
        the namespace set-up and the cgroup migration; and, once egress is asked for, a spare
        network namespace. Runs until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._keep_blanks())
            if self.namespaces:
                tasks.create_task(self.network.keep_spares())

    async def _keep_blanks(self) -> None:
        while True:
            now = time.monotonic()
            target = self.demand.target(now)
            if len(self._blanks) < target:
                if self._starting or not self.demand.quiet(now):
                    # A burst of cold starts is on: they need the CPU now more than a later
                    # cold start needs a blank (a blank takes ~10 ms of CPU to prepare).
                    await asyncio.sleep(QUIET_SECONDS / 2)
                    continue
                try:
                    await self._add_blank()
                except PlatformError:
                    return
                continue
            while len(self._blanks) > target:  # the burst that grew the pool is forgotten
                channel, group = self._blanks.pop()
                channel.close()
                discard_cgroup(group)
            self._refill.clear()
            # Woken by the end of each template start; the timeout lets the pool shrink.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refill.wait(), self.demand.window / 10)

    async def _add_blank(self) -> None:
        group = self.cgroups.create(f"blank.{os.urandom(4).hex()}", Limits(memory_mb=64))
        message = SpawnTemplate(key="blank", code_dir="", layer_dir=None, handler="",
                                env={}, network="none", hostname="blank",
                                concurrency=1, namespaces=self.namespaces, blank=True,
                                walls_off=self.walls_off)
        channel = await self._spawn(message, group)
        self._blanks.append((channel, group))

    async def stop(self) -> None:
        while self._blanks:
            channel, _group = self._blanks.popleft()
            channel.close()
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            with contextlib.suppress(ProcessLookupError):
                self._zygote.kill()
            await asyncio.to_thread(self._zygote.wait)
            self._zygote = None
        await self.runsc.stop()  # the instances were stopped before: their state goes now
        self.cgroups.leave_platform()
        await asyncio.to_thread(self.cgroups.remove_all)
        self.network.stop()  # last: the walls stay up while any sandbox may still run


class Template:
    """A function version's fork server inside its sandbox."""

    def __init__(self, sandbox: ProcessSandbox, spec: TemplateSpec, channel: ControlChannel,
                 group: Cgroup, on_exit: Callable[[int, int], None]) -> None:
        self.sandbox = sandbox
        self.spec = spec
        self.channel = channel
        self.group = group
        self.init_ms = 0.0
        self.import_cpu_ms: float | None = None
        self.alive = True
        self._on_exit = on_exit
        self._forks: dict[str, asyncio.Future[int]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def wait_ready(self, started: float) -> None:
        try:
            reply, _ = await self.channel.recv()
        except EOFError:
            reply = None
        if isinstance(reply, Ready):
            self.init_ms = (time.perf_counter() - started) * 1000
            self.import_cpu_ms = reply.cpu_ms
            # Ended by close(): the reader exits on EOF when the channel closes.
            self._reader = asyncio.get_running_loop().create_task(self._read())
            return
        self.close()
        raise self.sandbox.start_failed(reply)

    async def _read(self) -> None:
        while True:
            try:
                message, fds = await self.channel.recv()
            except (EOFError, OSError):
                break
            for fd in fds:
                os.close(fd)
            if isinstance(message, Forked):
                future = self._forks.pop(message.instance, None)
                if future is not None and not future.done():
                    future.set_result(message.pid)
            elif isinstance(message, Exited):
                self._on_exit(message.pid, message.exit_code)
        self.alive = False
        for future in self._forks.values():
            if not future.done():
                future.set_exception(PlatformError(f"the sandbox of {self.spec.key} exited"))
        self._forks.clear()

    async def fork(self, instance_id: str) -> SandboxInstance:
        if not self.alive:
            raise PlatformError(f"the sandbox of {self.spec.key} is gone")
        started = time.perf_counter()
        group = self.sandbox.cgroups.create(
            instance_id, Limits(memory_mb=self.spec.memory_mb, cpu=self.spec.cpu),
            tenant=self.spec.tenant)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        host_ours, host_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = [theirs.fileno(), host_theirs.fileno(), *group.procs_fds()]
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._forks[instance_id] = future
        try:
            with self.sandbox.cold_step():  # a burst's forks hold off the blank refill too
                await self.channel.send(Fork(instance=instance_id), fds)
                pid = await future
        except BaseException:
            ours.close()
            host_ours.close()
            discard_cgroup(group)
            raise
        finally:
            theirs.close()
            host_theirs.close()
            for fd in fds[2:]:
                os.close(fd)
        return SandboxInstance(id=instance_id, pid=pid, sock=ours, host_sock=host_ours,
                               cgroup=group, fork_ms=(time.perf_counter() - started) * 1000,
                               import_cpu_ms=self.import_cpu_ms)

    def close(self) -> None:
        """Kill the template; as pid 1 of its namespace its instances die with it."""
        self.alive = False
        self.channel.close()
        self.group.kill()
        discard_cgroup(self.group)


def _total_mb(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


def _zygote_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k in keep}
