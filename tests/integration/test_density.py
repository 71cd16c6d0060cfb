"""Many idle instances of one function: the template that forks them survives them all."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from yun_harness import FUNCTIONS, Yun, instance_groups

from yun.sandbox._process import FORK_HEADROOM_PER_INSTANCE_MB


def _idle(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "idle"
    shutil.copytree(FUNCTIONS / "hello", folder)
    text = (folder / "yun.yaml").read_text().replace("name: hello", "name: idle")
    text = text.replace("scale: {min: 0, max: 4, target: 1, keep_alive: 2s}",
                        f"scale: {{min: {count}, max: {count}, keep_alive: 10m}}")
    (folder / "yun.yaml").write_text(text)
    return folder


def _template_memory_group(yun: Yun, function: str) -> Path:
    for proc in Path("/proc").iterdir():
        try:
            if (proc / "comm").read_text().strip() != f"yun-t:{function}":
                continue
            lines = (proc / "cgroup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                group = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
                if f"up-{yun.process.pid if yun.process else 0}" in path and group.exists():
                    return group
    raise AssertionError(f"no template of {function} found")


def _fill(yun: Yun, tmp_path: Path, count: int, timeout: float) -> None:
    yun.deploy(_idle(tmp_path, count))
    deadline = time.monotonic() + timeout
    while len(instance_groups(yun, "idle@1")) < count:
        assert time.monotonic() < deadline, f"only {len(instance_groups(yun, 'idle@1'))} started"
        time.sleep(0.2)


def test_each_instance_charges_its_template_less_than_the_headroom_it_is_given(
        yun: Yun, tmp_path: Path) -> None:
    # The charges of pages the template copies after each fork stay on its group while the
    # instance lives: if they outgrow the headroom, a full scale.max OOM-kills the template
    # and every instance with it.
    _fill(yun, tmp_path, 100, timeout=60)
    group = _template_memory_group(yun, "idle")
    time.sleep(1)
    with_100 = int((group / "memory.usage_in_bytes").read_text())
    per_instance_mb = with_100 / 100 / (1 << 20)
    assert per_instance_mb < FORK_HEADROOM_PER_INSTANCE_MB, per_instance_mb


@pytest.mark.soak
def test_a_thousand_idle_instances_stay_up(yun: Yun, tmp_path: Path) -> None:
    _fill(yun, tmp_path, 1000, timeout=180)
    time.sleep(5)
    assert len(instance_groups(yun, "idle@1")) == 1000
