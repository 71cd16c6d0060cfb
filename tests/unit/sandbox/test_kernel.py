"""The node-wide kernel settings of the process tier, on this machine's real kernel."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from yun.sandbox._kernel import MONITOR_THREADS, idle_memory_monitor


def monitor_threads() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip().startswith(MONITOR_THREADS):
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.fixture
def monitors() -> Iterator[list[int]]:
    pids = monitor_threads()
    if not pids:
        pytest.skip("this kernel runs no DAMON monitor (kdamond)")
    if os.geteuid() != 0:
        pytest.skip("needs root")
    before = {pid: os.sched_getscheduler(pid) for pid in pids}
    yield pids
    for pid, policy in before.items():
        os.sched_setscheduler(pid, policy, os.sched_param(0))


def test_the_memory_monitor_runs_at_idle_priority(monitors: list[int]) -> None:
    for pid in monitors:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
    assert sorted(idle_memory_monitor()) == sorted(monitors)
    assert all(os.sched_getscheduler(pid) == os.SCHED_IDLE for pid in monitors)
    assert sorted(idle_memory_monitor()) == sorted(monitors)  # again: nothing to change
