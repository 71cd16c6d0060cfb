"""The `yun` fixture: a fresh `yun up` per test (helpers live in yun_harness)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from yun_harness import Yun, free_port


@pytest.fixture
def yun(tmp_path: Path) -> Iterator[Yun]:
    instance = Yun(data_dir=tmp_path / "data", port=free_port())
    instance.start()
    try:
        yield instance
    finally:
        if instance.process is not None:
            instance.stop()
