"""`yun deploy`: packs the path, shows build progress, prints the server's verdict."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def packed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Stands in for `yun.storage.pack`, which is tested with the storage package."""
    paths: list[Path] = []

    def pack(path: Path) -> bytes:
        paths.append(Path(path))
        return b"PK-bundle"

    storage = types.ModuleType("yun.storage")
    storage.pack = pack  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "yun.storage", storage)
    return paths


def test_deploy_packs_the_path_and_prints_the_result(
    yun_api: Any, packed: list[Path], tmp_path: Path
) -> None:
    (tmp_path / "hello.py").write_text("def handle(event, context): return 1\n")
    yun_api.streams(
        {"event": "progress", "message": "installing [requests]"},
        {
            "event": "result",
            "function": "hello",
            "version": 3,
            "created": True,
            "message": "deployed hello version 3",
        },
    )

    result = yun_api.run("deploy", "hello.py")

    assert result.exit_code == 0, result.output
    assert packed == [Path("hello.py")]
    assert yun_api.last.content == b"PK-bundle"
    assert result.stdout == "deployed hello version 3\n"
    assert "installing [requests]" in result.stderr  # progress goes to stderr, markup intact


def test_deploy_of_unchanged_code_says_which_version_it_matches(
    yun_api: Any, packed: list[Path], tmp_path: Path
) -> None:
    (tmp_path / "hello.py").write_text("")
    yun_api.streams({"event": "result", "function": "hello", "version": 2, "created": False})

    result = yun_api.run("deploy", "hello.py")

    assert result.exit_code == 0
    assert result.stdout == "hello is unchanged: identical to version 2\n"


def test_a_failed_build_prints_the_error_and_exits_1(
    yun_api: Any, packed: list[Path], tmp_path: Path
) -> None:
    (tmp_path / "app").mkdir()
    yun_api.streams(
        {"event": "progress", "message": "Collecting nosuchpkg"},
        {
            "event": "error",
            "status": 400,
            "error": {"type": "DependencyError", "message": "no matching distribution: nosuchpkg"},
        },
    )

    result = yun_api.run("deploy", "app")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Collecting nosuchpkg" in result.stderr
    assert "error: no matching distribution: nosuchpkg" in result.stderr


def test_a_missing_path_is_a_usage_error(yun_api: Any, packed: list[Path]) -> None:
    result = yun_api.run("deploy", "nowhere")

    assert result.exit_code == 2
    assert packed == []
    assert yun_api.requests == []
