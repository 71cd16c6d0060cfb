"""When a version's next instance may be served by a blank itself (no template)."""

from __future__ import annotations

import asyncio
from typing import cast

from yun.autoscaler import Policy
from yun.node._instance import Instance
from yun.node._pool import LIGHT_IMPORT_CPU_MS, VersionPool
from yun.sandbox import SandboxTemplate, TemplateSpec

SPEC = TemplateSpec(key="default.hello@1", code_dir="/code", layer_dir=None,
                    handler="main:handle", env={}, network="none", hostname="hello",
                    memory_mb=128, concurrency=1, uid=100000)


def _starting(count: int) -> VersionPool:
    pool = VersionPool(SPEC.key, SPEC, Policy(), concurrency=1)
    pool.starting = count
    return pool


def test_the_only_instance_of_a_version_at_zero_is_alone() -> None:
    assert _starting(1).serve_from_blank()


def test_an_instance_started_beside_others_is_not_alone() -> None:
    assert not _starting(2).serve_from_blank()  # a burst: one template, forked for each


def test_an_instance_added_to_a_running_one_is_not_alone() -> None:
    pool = _starting(1)
    pool.instances["first"] = cast(Instance, object())
    assert not pool.serve_from_blank()


def test_a_version_with_a_template_or_one_on_its_way_forks_from_it() -> None:
    pool = _starting(1)
    pool.template = cast(SandboxTemplate, object())
    assert not pool.serve_from_blank()
    pool = _starting(1)
    loop = asyncio.new_event_loop()
    try:
        pool.template_start = loop.create_future()
        assert not pool.serve_from_blank()
    finally:
        loop.close()


def test_a_version_known_for_a_light_import_is_served_from_a_blank() -> None:
    pool = _starting(1)
    pool.import_cpu_ms = LIGHT_IMPORT_CPU_MS / 2
    assert pool.serve_from_blank()


def test_a_version_known_for_a_heavy_import_starts_a_template_to_fork_from() -> None:
    pool = _starting(1)
    pool.import_cpu_ms = LIGHT_IMPORT_CPU_MS
    assert not pool.serve_from_blank()  # a scale-out would pay that import a second time
