"""Admission control books memory for starts the kernel cannot see yet."""

from __future__ import annotations

from pathlib import Path

from yun.node import Admission, available_mb


def test_a_start_is_admitted_while_its_limit_and_the_reserve_fit() -> None:
    admission = Admission(reserve_mb=256, available=lambda: 1000)
    assert admission.admit(512) is None
    refusal = admission.admit(512)  # the first one is booked but not yet running
    assert refusal is not None
    assert "512 MiB" in refusal and "488 MiB available" in refusal


def test_a_running_instance_no_longer_counts_as_pending() -> None:
    admission = Admission(reserve_mb=0, available=lambda: 600)
    assert admission.admit(500) is None
    admission.started(500)
    assert admission.pending_mb == 0


def test_available_memory_is_read_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  2048000 kB\nMemAvailable:  1048576 kB\n")
    assert available_mb(meminfo) == 1024
