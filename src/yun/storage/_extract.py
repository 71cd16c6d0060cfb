"""Unpacking an untrusted zip safely: no path escapes, no symlinks, no bombs.

Every entry is checked before anything is written, and the bytes actually decompressed are
counted while writing, because a zip's declared sizes are only a claim made by the uploader.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from yun.core.errors import BundleError, PlatformError
from yun.storage._limits import (
    MANIFEST_NAMES,
    MAX_BUNDLE_BYTES,
    MAX_FILES,
    MAX_MANIFEST_BYTES,
    MAX_SOURCE_BYTES,
    MAX_UNPACKED_BYTES,
    mib,
)

_CHUNK = 1 << 16
_DRIVE = re.compile(r"[A-Za-z]:")
_BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)
# OS errors that an entry's name or shape causes (too long, a file where a folder must be);
# anything else (a full disk) is ours to fix, not the uploader's.
_ENTRY_ERRNOS = frozenset(
    {errno.ENAMETOOLONG, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EINVAL, errno.EILSEQ}
)


@dataclass(frozen=True, slots=True)
class Tree:
    """What `extract` wrote: the files (relative POSIX paths, sorted) and their identity."""

    names: tuple[str, ...]
    code_hash: str
    size: int


def extract(data: bytes, dest: Path) -> Tree:
    """Check every entry of the zip `data`, then write its files under `dest` (created).

    Folders are created only as the parents of files, so the tree on disk is exactly what the
    code hash covers: sha256 over the sorted (relative path, executable bit, sha256 of bytes).
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"bundle is {mib(len(data))}, more than the {mib(MAX_BUNDLE_BYTES)} allowed"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as e:
        raise BundleError(f"bundle is not a zip archive: {e}") from e
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES:
            raise BundleError(f"bundle has {len(infos)} entries, more than the {MAX_FILES} allowed")
        plan = _plan(infos)
        declared = sum(info.file_size for info, _ in plan)
        if declared > MAX_UNPACKED_BYTES:
            raise BundleError(
                f"bundle unpacks to {declared} bytes ({mib(declared)}), more than the "
                f"{mib(MAX_UNPACKED_BYTES)} allowed"
            )
        dest.mkdir(parents=True, exist_ok=True)
        top = dest.resolve()
        digests: dict[str, tuple[bool, bytes]] = {}
        written = 0
        for info, name in plan:
            target = top / name
            if not target.resolve().is_relative_to(top):  # zip-slip, however it was spelled
                raise BundleError(f"bundle entry {info.filename!r} points outside the bundle")
            digest, size = _write(archive, info, target, MAX_UNPACKED_BYTES - written)
            written += size
            executable = bool((info.external_attr >> 16) & 0o111)
            os.chmod(target, 0o755 if executable else 0o644)
            digests[name] = (executable, digest)

    whole = hashlib.sha256()
    for name in sorted(digests):
        executable, digest = digests[name]
        whole.update(name.encode() + b"\0" + (b"x" if executable else b"-") + digest)
    return Tree(tuple(sorted(digests)), whole.hexdigest(), written)


def _plan(infos: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, str]]:
    """The file entries to write, with their normalised names; refuses any unsafe entry."""
    plan: list[tuple[zipfile.ZipInfo, str]] = []
    seen: set[str] = set()
    for info in infos:
        raw = info.filename
        if "\\" in raw or "\0" in raw:
            raise BundleError(f"bundle entry {raw!r} must use / to separate folders")
        if raw.startswith("/") or _DRIVE.match(raw):
            raise BundleError(f"bundle entry {raw!r} is an absolute path")
        parts = PurePosixPath(raw).parts
        if ".." in parts:
            raise BundleError(f"bundle entry {raw!r} contains '..'")
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise BundleError(f"bundle entry {raw!r} is a symlink; symlinks are not allowed")
        if info.is_dir() or kind == stat.S_IFDIR:
            continue  # created as needed, as the parent of a file
        if kind not in (0, stat.S_IFREG):
            raise BundleError(f"bundle entry {raw!r} is not a regular file")
        mode = info.external_attr >> 16
        if mode & (stat.S_ISUID | stat.S_ISGID):
            raise BundleError(f"bundle entry {raw!r} has the setuid or setgid bit "
                              f"(mode {mode & 0o7777:04o}); those bits are not allowed")
        if info.flag_bits & 0x1:
            raise BundleError(f"bundle entry {raw!r} is encrypted")
        if not parts:
            raise BundleError(f"bundle entry {raw!r} has no file name")
        name = "/".join(parts)
        _check_size(info, name)
        if name in seen:
            raise BundleError(f"bundle entry {raw!r} appears twice")
        seen.add(name)
        plan.append((info, name))
    return plan


def _check_size(info: zipfile.ZipInfo, name: str) -> None:
    """Refuse what would be too costly to parse; `_write` holds entries to their header."""
    if name in MANIFEST_NAMES and info.file_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{name} is {info.file_size} bytes, more than the "
                          f"{MAX_MANIFEST_BYTES >> 10} KiB a manifest may be")
    if name.endswith(".py") and info.file_size > MAX_SOURCE_BYTES:
        raise BundleError(f"{name} is {mib(info.file_size)}, more than the "
                          f"{mib(MAX_SOURCE_BYTES)} a Python file may be")


def _write(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int
) -> tuple[bytes, int]:
    """Decompress one entry to `target`, stopping at `budget` bytes; (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": never write through something already there (a file, or a planted link).
        with archive.open(info) as source, open(target, "xb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > budget or size > info.file_size:
                    raise BundleError(
                        f"bundle entry {info.filename!r} holds more than its header says "
                        f"({info.file_size} bytes), or the bundle unpacks to more than "
                        f"{mib(MAX_UNPACKED_BYTES)}"
                    )
                digest.update(chunk)
                out.write(chunk)
    except _BROKEN as e:
        raise BundleError(f"bundle entry {info.filename!r} is corrupt: {e}") from e
    except OSError as e:
        if e.errno in _ENTRY_ERRNOS:
            raise BundleError(f"cannot unpack bundle entry {info.filename!r}: {e.strerror}") from e
        raise PlatformError(f"cannot unpack bundle entry {info.filename!r}: {e}") from e
    return digest.digest(), size
