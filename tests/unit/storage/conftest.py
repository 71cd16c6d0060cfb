"""A builder of function folders, shared by the storage tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

YUN_YAML = "name: hello\nhandler: main:handle\n"
MAIN_PY = "def handle(event, context):\n    return event\n"

Files = Mapping[str, str | bytes]


def write_files(root: Path, files: Files) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    return root


@pytest.fixture
def function_dir(tmp_path: Path) -> Callable[..., Path]:
    """Make a function folder: a working yun.yaml + main.py, overridden or extended by `files`."""
    count = 0

    def make(files: Files | None = None) -> Path:
        nonlocal count
        count += 1
        root = tmp_path / f"fn{count}"
        root.mkdir()
        return write_files(root, {"yun.yaml": YUN_YAML, "main.py": MAIN_PY, **(files or {})})

    return make
