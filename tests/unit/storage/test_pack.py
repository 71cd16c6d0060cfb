from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from yun.core.errors import BundleError
from yun.storage import pack


def names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_packing_the_same_folder_twice_gives_identical_bytes(
    function_dir: Callable[..., Path],
) -> None:
    folder = function_dir({"lib/util.py": "X = 1\n", "data.json": "{}"})
    first = pack(folder)
    os.utime(folder / "main.py", (1_000_000_000, 1_000_000_000))  # mtimes must not matter
    assert pack(folder) == first


def test_pack_sorts_names_and_skips_caches_and_tool_folders(
    function_dir: Callable[..., Path],
) -> None:
    folder = function_dir(
        {
            "b.py": "",
            "a/x.py": "",
            ".git/config": "",
            "__pycache__/main.cpython-311.pyc": b"\0",
            "a/__pycache__/x.cpython-311.pyc": b"\0",
            ".venv/lib/site.py": "",
            ".yun/state": "",
            "stale.pyc": b"\0",
        }
    )
    assert names(pack(folder)) == ["a/x.py", "b.py", "main.py", "yun.yaml"]


def test_pack_of_a_single_file_holds_just_that_file_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text("")
    (tmp_path / "app.py").write_text("def handle(e, c): ...\n")
    assert names(pack(tmp_path / "app.py")) == ["app.py"]


def test_pack_keeps_the_executable_bit(function_dir: Callable[..., Path]) -> None:
    folder = function_dir({"run.sh": "#!/bin/sh\n"})
    (folder / "run.sh").chmod(0o755)
    infos = {
        i.filename: i.external_attr >> 16
        for i in zipfile.ZipFile(io.BytesIO(pack(folder))).infolist()
    }
    assert infos["run.sh"] & 0o111
    assert not infos["main.py"] & 0o111


def test_pack_refuses_a_folder_without_yun_yaml(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("")
    with pytest.raises(BundleError, match=r"has no yun\.yaml"):
        pack(tmp_path)


@pytest.mark.parametrize("name", ["notes.txt", "missing.py"])
def test_pack_refuses_a_path_that_is_neither_a_folder_nor_a_py_file(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(BundleError, match=f"cannot deploy .*{name}"):
        pack(tmp_path / name)


def test_pack_refuses_a_symlinked_folder(function_dir: Callable[..., Path], tmp_path: Path) -> None:
    folder = function_dir()
    (folder / "shared").symlink_to(tmp_path)
    with pytest.raises(BundleError, match="shared: it is a symlink to a folder"):
        pack(folder)
