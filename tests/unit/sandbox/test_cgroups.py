"""CPU sharing in the cgroup tree: quotas from cores, tenant groups."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from yun.sandbox._cgroups import CgroupTree, Limits, cpu_quota, is_v2, shares


def test_up_to_one_core_the_quota_is_one_millisecond_and_the_period_stretches() -> None:
    assert cpu_quota(1.0) == (1000, 1000)
    assert cpu_quota(0.5) == (1000, 2000)
    assert cpu_quota(0.25) == (1000, 4000)


def test_above_one_core_the_period_is_one_millisecond() -> None:
    assert cpu_quota(2.0) == (2000, 1000)
    assert cpu_quota(1.5) == (1500, 1000)


def test_a_tiny_share_keeps_the_kernels_bounds() -> None:
    assert cpu_quota(0.0001) == (1000, 1_000_000)


def test_no_cores_is_refused() -> None:
    with pytest.raises(ValueError, match="cpu must be more than 0 cores, was: 0"):
        cpu_quota(0)


def test_weights_map_to_v1_shares() -> None:
    assert shares(100) == 1024
    assert shares(1000) == 10240


@pytest.fixture
def tree() -> Iterator[CgroupTree]:
    if os.geteuid() != 0:
        pytest.skip("cgroups need root")
    made = CgroupTree(owner_pid=os.getpid())
    if not made.available:
        pytest.skip("no cgroup tree to write to")
    try:
        yield made
    finally:
        made.remove_all()


def cpu_dir(group_dirs: list[Path]) -> Path:
    return next(d for d in group_dirs if is_v2() or "/cpu/" in str(d))


def read(path: Path) -> str:
    return path.read_text().strip()


def test_an_instance_sits_in_its_tenants_cpu_group_with_its_quota(tree: CgroupTree) -> None:
    group = tree.create("t1.hello@1.abc", Limits(memory_mb=128, cpu=0.5), tenant="t1")
    cpu = cpu_dir(group.dirs)
    assert cpu.parent.name == "t1" and cpu.parent.parent.name == "tenants"
    if is_v2():
        assert read(cpu / "cpu.max") == "1000 2000"
    else:
        assert read(cpu / "cpu.cfs_quota_us") == "1000"
        assert read(cpu / "cpu.cfs_period_us") == "2000"
        # Limits stay per instance in the other trees.
        assert all(d.parent.name == tree.owner for d in group.dirs if d != cpu)


def test_two_tenants_get_equal_weights_whatever_their_instance_counts(tree: CgroupTree) -> None:
    for n in range(5):
        tree.create(f"a.spin@1.{n}", Limits(memory_mb=64, cpu=1.0), tenant="a")
    b = tree.create("b.quiet@1.0", Limits(memory_mb=64, cpu=1.0), tenant="b")
    tenants = cpu_dir(b.dirs).parent.parent
    weight = "cpu.weight" if is_v2() else "cpu.shares"
    assert read(tenants / "a" / weight) == read(tenants / "b" / weight)


def test_lifting_the_cap_clears_the_quota(tree: CgroupTree) -> None:
    group = tree.create("t1.hello@1.def", Limits(memory_mb=128, cpu=2.0), tenant="t1")
    group.set_limits(Limits(memory_mb=128))
    cpu = cpu_dir(group.dirs)
    if is_v2():
        assert read(cpu / "cpu.max").startswith("max")
    else:
        assert read(cpu / "cpu.cfs_quota_us") == "-1"


def test_removing_the_tree_removes_tenant_groups_too(tree: CgroupTree) -> None:
    group = tree.create("t1.hello@1.ghi", Limits(memory_mb=128, cpu=0.5), tenant="t1")
    tree.remove_all()
    assert not any(d.exists() for d in group.dirs)
    assert not tree.leftovers()
