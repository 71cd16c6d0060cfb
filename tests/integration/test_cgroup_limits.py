"""Cgroup limits reach the kernel as set, however often a group is re-limited (writes that would
not change a value are skipped). Needs root and cgroup v1 or v2."""

from __future__ import annotations

import os
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
