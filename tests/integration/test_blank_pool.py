"""The pool of blank sandboxes in a real `yun up`: after a burst of distinct functions at zero
it grows to 1.25 × the burst (from the floor of 2), refilled once the burst is over."""

from __future__ import annotations

import concurrent.futures
import shutil
import time
from pathlib import Path

from yun_harness import FUNCTIONS, Yun


def _blanks(yun: Yun) -> int:
    assert yun.process is not None
    base = Path("/sys/fs/cgroup/memory/yun") / f"up-{yun.process.pid}"
    if not base.exists():
        base = Path("/sys/fs/cgroup/yun") / f"up-{yun.process.pid}"
    return sum(1 for d in base.iterdir() if d.name.startswith("blank."))


def test_a_burst_of_distinct_functions_grows_the_blank_pool_after_it(
        yun: Yun, tmp_path: Path) -> None:
    names = [f"spread-{i}" for i in range(8)]
    for name in names:
        folder = tmp_path / name
        shutil.copytree(FUNCTIONS / "hello", folder)
        text = (folder / "yun.yaml").read_text().replace("name: hello", f"name: {name}")
        (folder / "yun.yaml").write_text(text)
        yun.deploy(folder)
    deadline = time.monotonic() + 10
    while _blanks(yun) != 2:  # the configured floor, before any burst
        assert time.monotonic() < deadline, f"{_blanks(yun)} blanks at start, not 2"
        time.sleep(0.05)
    with yun.http() as http, concurrent.futures.ThreadPoolExecutor(len(names)) as threads:
        responses = list(threads.map(lambda n: http.post(f"/fn/{n}", json={}), names))
    assert [r.status_code for r in responses] == [200] * len(names)
    # A template made from a blank keeps its group's name until it ends: the functions go
    # back to zero after their 2 s keep-alive, and then only the waiting blanks are left.
    deadline = time.monotonic() + 30
    while _blanks(yun) != 10:  # ceil(8 × 1.25)
        assert time.monotonic() < deadline, f"the pool stayed at {_blanks(yun)} blanks"
        time.sleep(0.05)
    time.sleep(1.0)
    assert _blanks(yun) == 10
