from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from yun.storage import CodeStore, pack, unpack


def test_commit_moves_the_staging_folder_to_its_hash_read_only(
    function_dir: Callable[..., Path], tmp_path: Path
) -> None:
    folder = function_dir({"run.sh": "#!/bin/sh\n", "lib/x.py": ""})
    (folder / "run.sh").chmod(0o755)
    bundle = unpack(pack(folder), tmp_path / "staging")
    store = CodeStore(tmp_path / "code")

    path = store.commit(bundle)

    assert path == store.path(bundle.code_hash) == tmp_path / "code" / bundle.code_hash
    assert not bundle.root.exists()
    assert (path / "main.py").read_text() == (folder / "main.py").read_text()
    assert stat.S_IMODE((path / "main.py").stat().st_mode) == 0o444
    assert stat.S_IMODE((path / "run.sh").stat().st_mode) == 0o555
    assert stat.S_IMODE((path / "lib").stat().st_mode) == 0o555
    assert stat.S_IMODE(path.stat().st_mode) == 0o555
    assert [p.name for p in store.root.iterdir()] == [bundle.code_hash]  # no temp folder left


def test_committing_identical_code_again_keeps_the_stored_copy_and_discards_staging(
    function_dir: Callable[..., Path], tmp_path: Path
) -> None:
    store = CodeStore(tmp_path / "code")
    data = pack(function_dir())
    first = store.commit(unpack(data, tmp_path / "a"))
    again = unpack(data, tmp_path / "b")

    assert store.commit(again) == first
    assert not again.root.exists()
    assert [p.name for p in store.root.iterdir()] == [first.name]


def test_path_refuses_anything_but_a_hash(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex digits"):
        CodeStore(tmp_path).path("../../etc")
