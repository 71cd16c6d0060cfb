"""Cgroups for templates and instances: memory, cpu and pids limits, OOM counts, kill, cleanup.

Works on cgroup v2 (one unified tree) and v1 (one tree per controller). Every group Yun makes
sits under `yun/<owner>/`, where owner names the `yun up` process, so a later start can find
and remove what a crashed run left behind.

CPU is shared per tenant in the CPU tree (v1's cpu controller, or the unified tree):

    yun/                            as much weight as one busy process per core of the host
      <owner>/platform              `yun up` itself (gateway, node agent): the most weight
                                    while a tenant is CPU-bound, else a tenant's
      <owner>/tenants/<tenant>/     one weight per tenant, however many instances it runs;
                                    idle (SCHED_IDLE) while one of them is CPU-bound
        <instance>                  a CFS quota: `cpu` cores, in short periods
      <owner>/<template|blank>      templates (they only import and fork) and blanks

so a tenant's many instances get one tenant's share of a contended core. The platform and
the sandboxes share one weight against the host's other processes, and within it the
platform comes first: a request must not wait behind the instances it is there to serve.
The scheduler rechecks who runs only at wake-ups and at its tick (4 ms at HZ=250), so a
spinning instance that holds the core delays a neighbour's wake-up by up to a tick unless
the neighbour outranks it outright: a tenant's group is therefore marked idle while one of
its instances is CPU-bound, i.e. ran into its quota during the calls it still runs (see
`node._instance`), and any wake-up of another tenant or of the platform preempts it. On v1
the memory and pids trees keep flat per-instance groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from yun.runtime import _linux

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
_OWNER = re.compile(r"^up-(\d+)$")
TENANTS = "tenants"
PLATFORM = "platform"
# The largest weights the kernel accepts: while a tenant is CPU-bound the platform outranks
# every sandbox by far. Otherwise it weighs as much as all tenants together: outranking them
# always costs throughput (measured: ~15 % fewer requests at 64 connections), as the gateway
# then preempts instances before they have answered a whole batch.
_MAX_SHARES_V1, _MAX_WEIGHT_V2 = 262144, 10000
# A capped instance that spins runs its quota, then is throttled for the rest of the period.
# With the usual 100 ms period half a core means 50 ms on, 50 ms off: a neighbour waiting
# behind the 50 ms sees it in its latency. So the quota is the kernel's least (1 ms) up to one
# core and the period is short. The kernel notices a spent quota at its next tick, so a spinner
# still runs up to one tick (4 ms at HZ=250, measured) and then repays the overrun throttled.
MIN_QUOTA_US = 1000
MAX_PERIOD_US = 1_000_000


def is_v2() -> bool:
    return (ROOT / "cgroup.controllers").exists()


_V2 = is_v2()  # the hierarchy does not change while we run


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    pids: int = 512
    cpu_weight: int = 100  # 1..10000, v2 semantics; mapped to cpu.shares on v1
    cpu: float | None = None  # cores, enforced as a CFS quota; None: no cap


def cpu_quota(cores: float) -> tuple[int, int]:
    """(quota µs, period µs) for `cores`: the quota is 1 ms (the kernel's least) up to one
    core, and the period stretches to fit, so a busy group is throttled after short runs
    rather than after a long one; above one core the period is 1 ms."""
    if cores <= 0:
        raise ValueError(f"cpu must be more than 0 cores, was: {cores}")
    period = min(MAX_PERIOD_US, max(MIN_QUOTA_US, round(MIN_QUOTA_US / cores)))
    return max(MIN_QUOTA_US, round(cores * period)), period


def shares(weight: int) -> int:
    """cgroup v1 `cpu.shares` for a v2 `cpu.weight` (100 = 1024, the default of both)."""
    return max(2, weight * 1024 // 100)


class Cgroup:
    """One group, present in every controller tree it needs."""

    def __init__(self, dirs: list[Path], stale: list[Path] | None = None) -> None:
        self.dirs = dirs
        # Groups a process left for these but that could not be removed then (a blank's, with
        # a child it started while importing): removed with this group.
        self.stale = stale or []
        self._limits: Limits | None = None  # what set_limits last applied (None: defaults)

    @property
    def limits(self) -> Limits | None:
        """What `set_limits` last applied (None: the kernel's defaults)."""
        return self._limits

    @property
    def _memory_dir(self) -> Path:
        return next((d for d in self.dirs if "/memory/" in str(d)), self.dirs[0])

    def set_limits(self, limits: Limits) -> None:
        """Apply limits; also used to re-limit a pre-started sandbox for its function.

        Only what differs from the limits this object last applied is written (a new group
        starts at the kernel's defaults): each write costs the node agent a few syscalls on
        every cold start, and a burst of cold starts pays them all on one event loop.
        """
        old = self._limits
        self._limits = limits
        memory = limits.memory_mb << 20
        for d in self.dirs:
            if _V2:
                _write(d / "memory.max", str(memory))
                _write(d / "memory.swap.max", "0", optional=True)
                _write(d / "pids.max", str(limits.pids))
                _write(d / "cpu.weight", str(limits.cpu_weight), optional=True)
                _write_cpu_max_v2(d, limits.cpu)
            elif "/memory/" in str(d):
                if old is None or old.memory_mb != limits.memory_mb:
                    # memsw (memory + swap) may never be below the memory limit: move the two
                    # in the order that keeps it so, ending with both at the same value so the
                    # instance cannot swap.
                    memsw = d / "memory.memsw.limit_in_bytes"
                    if old is not None and limits.memory_mb > old.memory_mb:
                        _write(memsw, str(memory), optional=True)
                        _write(d / "memory.limit_in_bytes", str(memory))
                    else:
                        _write(d / "memory.limit_in_bytes", str(memory))
                        _write(memsw, str(memory), optional=True)
                if old is None:
                    # A forked instance writes to pages (copy-on-write) before it joins its
                    # own group; without moving those charges along they stay on the
                    # template's group, and a few hundred instances push the template past
                    # its limit: the OOM killer then takes the template, pid 1 of the
                    # namespace, and every instance with it.
                    _write(d / "memory.move_charge_at_immigrate", "3", optional=True)
            elif "/pids/" in str(d):
                if old is None or old.pids != limits.pids:
                    _write(d / "pids.max", str(limits.pids))
            elif "/cpu/" in str(d):
                # A new group's cpu.shares is already 1024 (weight 100), with no quota.
                if (old.cpu_weight if old is not None else 100) != limits.cpu_weight:
                    _write(d / "cpu.shares", str(shares(limits.cpu_weight)))
                if (old.cpu if old is not None else None) != limits.cpu:
                    _write_cpu_max_v1(d, limits.cpu)

    def procs_fds(self) -> list[int]:
        """Open `cgroup.procs` of each tree; a process joins by writing "0" to every fd."""
        return [os.open(d / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for d in self.dirs]

    def pids(self) -> list[int]:
        try:
            text = (self._memory_dir / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def memory_bytes(self) -> int:
        """Memory charged to the group now (page cache included, as the limit counts it)."""
        name = "memory.current" if _V2 else "memory.usage_in_bytes"
        try:
            return int((self._memory_dir / name).read_text())
        except (OSError, ValueError):
            return 0

    def throttled(self) -> int:
        """How many times the group ran into its CPU quota (`nr_throttled`); 0 if unknown."""
        cpu_dir = next((d for d in self.dirs if _V2 or "/cpu/" in str(d)), None)
        return 0 if cpu_dir is None else _counter(cpu_dir / "cpu.stat", "nr_throttled")

    def oom_kills(self) -> int:
        name = "memory.events" if _V2 else "memory.oom_control"
        return _counter(self._memory_dir / name, "oom_kill")

    def kill(self) -> None:
        kill_file = self._memory_dir / "cgroup.kill"
        if kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
                return
        # v1 has no cgroup.kill: signal until empty (a fork racing the loop lands in the group
        # and is caught by the next pass).
        for _ in range(10):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> bool:
        """rmdir every tree's directory; False while processes are still exiting."""
        done = True
        for d in [*self.dirs, *self.stale]:
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


class CgroupTree:
    """The groups of one `yun up` process: `yun/<owner>/...` in each tree (layout above)."""

    def __init__(self, owner_pid: int | None = None) -> None:
        self.owner = f"up-{owner_pid or os.getpid()}"
        self.v2 = is_v2()
        # Which controllers are mounted does not change while we run: looked up once, not
        # at every group created.
        self._base_dirs = ([ROOT / "yun" / self.owner] if self.v2 else
                           [ROOT / c / "yun" / self.owner for c in V1_CONTROLLERS
                            if (ROOT / c).is_dir()])
        self.available = self._probe()
        self._origin: Path | None = None  # the CPU group `yun up` was in before the platform's

    def _bases(self) -> list[Path]:
        return list(self._base_dirs)

    def _cpu_base(self) -> Path | None:
        """The tree that shares CPU: the unified one, or v1's cpu tree."""
        return next((b for b in self._bases() if self.v2 or b.parts[-3] == "cpu"), None)

    def _probe(self) -> bool:
        try:
            for base in self._bases():
                base.mkdir(parents=True, exist_ok=True)
            if self.v2:
                _enable_v2_controllers(ROOT / "yun")
                _enable_v2_controllers(ROOT / "yun" / self.owner)
        except OSError:
            return False
        # The whole tree (platform included) weighs one busy process per core, so a host
        # with other work does not starve it (`yun up` itself used to sit beside it).
        cores = os.cpu_count() or 1
        cpu_root = ROOT / "yun" if self.v2 else ROOT / "cpu" / "yun"
        if self.v2:
            _write(cpu_root / "cpu.weight", str(min(_MAX_WEIGHT_V2, 100 * cores)), optional=True)
        else:
            _write(cpu_root / "cpu.shares", str(1024 * cores), optional=True)
        return True

    def enter_platform(self) -> None:
        """Move this process (all its threads) into the platform's CPU group."""
        base = self._cpu_base()
        if base is None:
            return
        group = base / PLATFORM
        group.mkdir(exist_ok=True)
        self.put_platform_first(False)
        origin = _own_cpu_group(self.v2)
        _write(group / "cgroup.procs", str(os.getpid()))
        self._origin = origin

    def put_platform_first(self, first: bool) -> None:
        """The platform's weight: the most there is, or the default (see _MAX_SHARES_V1)."""
        base = self._cpu_base()
        if base is None:
            return
        if self.v2:
            _write(base / PLATFORM / "cpu.weight", str(_MAX_WEIGHT_V2 if first else 100),
                   optional=True)
        else:
            _write(base / PLATFORM / "cpu.shares", str(_MAX_SHARES_V1 if first else 1024),
                   optional=True)

    def leave_platform(self) -> None:
        """Back to the group this process came from, so the tree can be removed."""
        origin, self._origin = self._origin, None
        if origin is None:
            return
        for target in (origin, ROOT if self.v2 else ROOT / "cpu"):
            with contextlib.suppress(OSError):
                _write(target / "cgroup.procs", str(os.getpid()))
                return

    def set_tenant_idle(self, tenant: str, idle: bool) -> None:
        """Mark the tenant's CPU group idle (SCHED_IDLE: every other wake-up preempts it,
        and it runs only on time nobody else wants) or back to normal."""
        base = self._cpu_base()
        if base is not None:
            _write(self._tenant_dir(base, tenant) / "cpu.idle", "1" if idle else "0",
                   optional=True)

    def create(self, name: str, limits: Limits, tenant: str | None = None) -> Cgroup:
        """A group `name`; with `tenant`, inside that tenant's CPU group."""
        cpu_base = self._cpu_base()
        dirs = []
        for base in self._base_dirs:
            if tenant is not None and base == cpu_base:
                dirs.append(self._tenant_dir(base, tenant) / name)
            else:
                dirs.append(base / name)
        for d in dirs:
            with contextlib.suppress(FileExistsError):
                os.mkdir(d)
        group = Cgroup(dirs)
        group.set_limits(limits)
        return group

    def instance_groups(self, name: str, limits: Limits, tenant: str) -> Cgroup:
        """The groups a blank that is to serve as an instance must join (`adopt` makes them
        the instance's group once it has): on v1, only a CPU group inside the tenant's, as
        the blank's own memory and pids groups become the instance's (no need to create,
        limit and join two more); on v2 (one tree), a whole new group."""
        if self.v2:
            return self.create(name, limits, tenant)
        cpu_base = self._cpu_base()
        if cpu_base is None:
            return Cgroup([])
        d = self._tenant_dir(cpu_base, tenant) / name
        with contextlib.suppress(FileExistsError):
            os.mkdir(d)
        group = Cgroup([d])
        group.set_limits(limits)  # only the CPU tree's files: the others are not in `dirs`
        return group

    def adopt(self, blank: Cgroup, joined: Cgroup, name: str, memory_mb: int) -> Cgroup:
        """The group of the instance a blank became, once its process joined `joined`.

        v1: the blank's memory and pids groups, renamed after the instance (so they read
        like any instance's), with `joined`'s CPU group. The memory limit is raised by what
        the blank had charged (its import, the sandbox's set-up): a forked instance has its
        whole `memory_mb` beyond the template's pages, and the first instance must have as
        much. v2: `joined`; the import's charges stay with the blank's group, removed now
        (the kernel hands them to the parent) as a template's stay with the template's.
        Either way the group the process left is removed now, or with the instance's if a
        child it started while importing is still there."""
        if self.v2:
            return Cgroup(joined.dirs, stale=[] if blank.remove() else blank.dirs)
        charged_mb = -(-blank.memory_bytes() // (1 << 20))
        blank.set_limits(dataclasses.replace(blank.limits or Limits(memory_mb=memory_mb),
                                             memory_mb=memory_mb + charged_mb))
        dirs, left = [], []
        for d in blank.dirs:
            if "/cpu/" in str(d):
                left.append(d)
            else:
                os.rename(d, d.with_name(name))  # v1 renames a group within its parent
                dirs.append(d.with_name(name))
        left = [d for d in left if not Cgroup([d]).remove()]
        return Cgroup(dirs + joined.dirs, stale=left)

    def _tenant_dir(self, base: Path, tenant: str) -> Path:
        # Every tenant's group has the default weight: equal shares between tenants.
        parent = base / TENANTS
        d = parent / tenant
        if not d.is_dir():
            d.mkdir(parents=True, exist_ok=True)
            if self.v2:
                _enable_v2_controllers(parent)
                _enable_v2_controllers(d)
        return d

    def remove_all(self) -> None:
        _remove_tree_list(self._bases())

    def remove_stale(self) -> list[str]:
        """Remove the groups of `yun up` processes that no longer run. Returns their names."""
        removed = []
        parents = [ROOT / "yun"] if self.v2 else [ROOT / c / "yun" for c in V1_CONTROLLERS]
        for parent in parents:
            if not parent.is_dir():
                continue
            for child in parent.iterdir():
                match = _OWNER.match(child.name)
                if match and not _linux.pid_alive(int(match.group(1))):
                    _remove_tree_list([child])
                    removed.append(child.name)
        return sorted(set(removed))

    def leftovers(self) -> list[Path]:
        """Template and instance groups still present (not the tenant levels)."""
        found = []
        for base in self._bases():
            if not base.exists():
                continue
            for d in base.rglob("*"):
                if d.is_dir() and d.name not in (TENANTS, PLATFORM) \
                        and d.parent.name != TENANTS:
                    found.append(d)
        return found


def favor_dynamic_changes() -> bool:
    """Ask the kernel to make cgroup migrations cheap (cgroup2 mount option `favordynmods`).

    Without it every process moved into a new group waits for an RCU grace period (10-20 ms
    here), which would dominate a cold start. The option is global to the kernel; it makes
    fork and exit slightly slower, a trade every function host wants.
    """
    for mount in _cgroup2_mounts():
        if "favordynmods" in mount[1]:
            return True
        result = subprocess.run(
            ["mount", "-o", "remount,favordynmods", mount[0]],
            capture_output=True,
            check=False,
        )
        if result.returncode == 0:
            return True
    return False


def _cgroup2_mounts() -> list[tuple[str, str]]:
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "cgroup2":
            found.append((fields[1], fields[3]))
    return found


def _remove_tree_list(bases: list[Path]) -> None:
    for base in bases:
        if base.is_dir():
            _remove_tree(base)


def _remove_tree(path: Path) -> None:
    """Remove `path` and every group below it, deepest first."""
    for child in path.iterdir():
        if child.is_dir():
            _remove_tree(child)
    group = Cgroup([path])
    # Killed processes leave their group a moment later (longer under load): keep killing
    # and retrying for up to 5 s rather than leaving the group behind.
    deadline = time.monotonic() + 5.0
    while not group.remove() and time.monotonic() < deadline:
        group.kill()
        time.sleep(0.005)


def _counter(path: Path, key: str) -> int:
    """`key`'s value in a cgroup file of `key value` lines; 0 if the file or key is missing.
    os.open/os.read: the node agent reads these on its event loop while instances are busy."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = os.read(fd, 4096).decode()
        finally:
            os.close(fd)
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def discard_cgroup(group: Cgroup) -> None:
    """Kill what is left in a group and remove it, retrying off the hot path."""
    group.kill()
    if not group.remove():
        # Processes take a moment to leave after SIGKILL; retry off the hot path.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(0.05, _retry_remove, group, 100)


def _retry_remove(group: Cgroup, attempts: int) -> None:
    group.kill()
    if not group.remove() and attempts > 0:
        asyncio.get_running_loop().call_later(0.05, _retry_remove, group, attempts - 1)


def _write_cpu_max_v1(d: Path, cores: float | None) -> None:
    if not (d / "cpu.cfs_quota_us").exists():
        return
    # The burst may never exceed the quota: clear it and lift the quota before changing them.
    _write(d / "cpu.cfs_burst_us", "0", optional=True)
    _write(d / "cpu.cfs_quota_us", "-1")
    if cores is None:
        return
    quota, period = cpu_quota(cores)
    _write(d / "cpu.cfs_period_us", str(period))
    _write(d / "cpu.cfs_quota_us", str(quota))
    # An instance that was idle may run one extra quota at once (a request after a pause).
    _write(d / "cpu.cfs_burst_us", str(quota), optional=True)


def _write_cpu_max_v2(d: Path, cores: float | None) -> None:
    if not (d / "cpu.max").exists():
        return
    _write(d / "cpu.max.burst", "0", optional=True)
    if cores is None:
        _write(d / "cpu.max", "max")
        return
    quota, period = cpu_quota(cores)
    _write(d / "cpu.max", f"{quota} {period}")
    _write(d / "cpu.max.burst", str(quota), optional=True)


def _own_cpu_group(v2: bool) -> Path:
    """This process's group in the CPU tree, from /proc/self/cgroup."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (v2 and controllers == "") or (not v2 and "cpu" in controllers.split(",")):
            return (ROOT if v2 else ROOT / "cpu") / path.lstrip("/")
    return ROOT if v2 else ROOT / "cpu"


def _enable_v2_controllers(path: Path) -> None:
    with contextlib.suppress(OSError):
        (path / "cgroup.subtree_control").write_text("+memory +pids +cpu")


def _write(path: Path, value: str, optional: bool = False) -> None:
    # os.open/os.write rather than Path.write_text: no text wrapper per write, and a burst
    # of cold starts makes a few of these per instance on the node agent's event loop.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError:
        if not optional:
            raise
