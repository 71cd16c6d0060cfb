"""The CLI side: turn a function's folder, or a single `.py` file, into a zip to upload."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

from yun.core.errors import BundleError
from yun.storage._limits import (
    MANIFEST_NAMES,
    MAX_BUNDLE_BYTES,
    MAX_FILES,
    MAX_UNPACKED_BYTES,
    mib,
)

_SKIPPED = frozenset({".git", "__pycache__", ".venv", ".yun"})  # folders (or files) never packed
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest zip timestamp; fixed so packs are reproducible


def pack(path: Path) -> bytes:
    """Zip a folder holding a `yun.yaml` (or `yun.yml`), or a single `.py` file.

    From a folder every file is packed except `.git`, `__pycache__`, `.venv`, `.yun` and `*.pyc`;
    a single file is packed alone at the root of the zip. The result is deterministic: names are
    sorted and timestamps fixed, so identical code gives identical bytes (and the same code hash).
    Raises BundleError naming `path` if it is neither, or if the bundle is over a size limit.
    """
    path = Path(path)
    if path.is_dir():
        if not any((path / name).is_file() for name in MANIFEST_NAMES):
            raise BundleError(
                f"{path} has no yun.yaml: a folder deploy needs one (or deploy a single .py file)"
            )
        files = _collect(path)
    elif path.is_file() and path.suffix == ".py":
        files = [(path.name, path)]
    else:
        raise BundleError(f"cannot deploy {path}: expected a folder with a yun.yaml or a .py file")

    if len(files) > MAX_FILES:
        raise BundleError(f"{path} has {len(files)} files, more than the {MAX_FILES} allowed")
    size = sum(file.stat().st_size for _, file in files)
    if size > MAX_UNPACKED_BYTES:
        raise BundleError(
            f"{path} holds {mib(size)} of files, more than the {mib(MAX_UNPACKED_BYTES)} allowed"
        )

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, file in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3  # Unix, whatever we run on, so the mode bits below are read
            executable = file.stat().st_mode & 0o111
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    data = buffer.getvalue()
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"{path} packs to {mib(len(data))}, more than the {mib(MAX_BUNDLE_BYTES)} upload limit"
        )
    return data


def _collect(root: Path) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every file under `root` that is packed."""
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in list(dirnames):
            if name in _SKIPPED:
                dirnames.remove(name)
            elif (here / name).is_symlink():
                # The server refuses symlinks, and following them risks cycles; say so here.
                raise BundleError(f"cannot pack {here / name}: it is a symlink to a folder")
        for name in filenames:
            file = here / name
            if name in _SKIPPED or name.endswith(".pyc"):
                continue
            if file.is_symlink() and not file.exists():
                raise BundleError(f"cannot pack {file}: it is a symlink to nothing")
            if file.is_file():  # a symlink to a file packs the file; sockets and fifos are skipped
                files.append((file.relative_to(root).as_posix(), file))
    return files
