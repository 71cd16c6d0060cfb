"""Cgroup limits reach the kernel as set, however often a group is re-limited (writes that would
not change a value are skipped), and a blank's groups become an instance's. Needs root and
cgroup v1 (the trees are separate there)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from yun.sandbox import Cgroup, CgroupTree, Limits

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root")


@pytest.fixture
def tree() -> Iterator[CgroupTree]:
    tree = CgroupTree(owner_pid=os.getpid())
    if not tree.available or tree.v2:
        pytest.skip("needs the cgroup v1 memory, pids and cpu trees")
    yield tree
    tree.remove_all()


def _read(group: Cgroup, controller: str, name: str) -> str:
    folder = next(d for d in group.dirs if f"/{controller}/" in str(d))
    return Path(folder, name).read_text().strip()


def _limits(group: Cgroup) -> tuple[int, int | None, str, str]:
    try:
        memsw: int | None = int(_read(group, "memory", "memory.memsw.limit_in_bytes"))
    except FileNotFoundError:  # swap accounting off: nothing to pin
        memsw = None
    return (int(_read(group, "memory", "memory.limit_in_bytes")), memsw,
            _read(group, "pids", "pids.max"), _read(group, "cpu", "cpu.shares"))


def test_a_new_group_has_its_limits_with_swap_pinned_to_memory(tree: CgroupTree) -> None:
    group = tree.create("limits-new", Limits(memory_mb=128))
    memory, memsw, pids, shares = _limits(group)
    assert memory == 128 << 20
    assert memsw in (None, 128 << 20)
    assert (pids, shares) == ("512", "1024")


def test_raising_then_lowering_the_limits_keeps_swap_pinned(tree: CgroupTree) -> None:
    group = tree.create("limits-moved", Limits(memory_mb=64))
    group.set_limits(Limits(memory_mb=640, pids=4096))
    memory, memsw, pids, _ = _limits(group)
    assert memory == 640 << 20 and memsw in (None, 640 << 20) and pids == "4096"
    group.set_limits(Limits(memory_mb=96, pids=4096, cpu_weight=200))
    memory, memsw, pids, shares = _limits(group)
    assert memory == 96 << 20 and memsw in (None, 96 << 20)
    assert (pids, shares) == ("4096", "2048")


def _child_in(group: Cgroup) -> subprocess.Popen[bytes]:
    """A process in `group` that holds ~8 MiB of its own (charged to the group it is in)."""
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; b = b'x' * (8 << 20); "
                              "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(60)"],
                             stdout=subprocess.PIPE)
    for d in group.dirs:
        (d / "cgroup.procs").write_text(str(child.pid))
    return child


def test_a_blank_becomes_an_instance_group_by_joining_only_a_cpu_group_of_its_tenant(
        tree: CgroupTree) -> None:
    blank = tree.create("blank.adopt", Limits(memory_mb=64))
    child = _child_in(blank)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        joined = tree.instance_groups("inst.adopt", Limits(memory_mb=64, cpu=0.5), "acme")
        assert [d.parts[-5:] for d in joined.dirs] == [
            ("yun", tree.owner, "tenants", "acme", "inst.adopt")]
        (joined.dirs[0] / "cgroup.procs").write_text(str(child.pid))
        charged_mb = blank.memory_bytes() / (1 << 20)
        group = tree.adopt(blank, joined, "inst.adopt", memory_mb=64)
        assert sorted(d.name for d in group.dirs) == ["inst.adopt"] * 3
        assert not any(d.exists() for d in blank.dirs)  # renamed, or (cpu) left and removed
        assert child.pid in group.pids()
        # The instance may use its whole memory beyond what was charged before it served.
        memory = int(_read(group, "memory", "memory.limit_in_bytes")) >> 20
        assert 64 + charged_mb <= memory < 64 + charged_mb + 1 and charged_mb >= 8
        assert _read(group, "cpu", "cpu.cfs_quota_us") == "1000"
    finally:
        child.kill()
        child.wait()


def test_a_cpu_group_still_holding_a_child_of_the_blank_goes_with_the_instance(
        tree: CgroupTree) -> None:
    blank = tree.create("blank.stale", Limits(memory_mb=64))
    child = _child_in(blank)
    try:
        joined = tree.instance_groups("inst.stale", Limits(memory_mb=64), "acme")
        group = tree.adopt(blank, joined, "inst.stale", memory_mb=64)  # the child stayed
        assert [d.name for d in group.stale] == ["blank.stale"]
        group.kill()
        child.wait()
        deadline = time.monotonic() + 5
        while not group.remove():
            assert time.monotonic() < deadline, "the groups were not removed"
            time.sleep(0.01)
        assert not any(d.exists() for d in [*group.dirs, *group.stale])
    finally:
        child.kill()
        child.wait()
