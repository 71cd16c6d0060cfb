"""Filesystem helpers for the stores: read-only trees, and removing them again."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path


def make_read_only(root: Path) -> None:
    """Files 0o444 (0o555 when executable), folders 0o555; symlinks are left alone.

    Stored code and layers are shared by every instance of a version (and layers by every
    function with the same requirements), so one instance must not be able to change them.
    """
    # Bottom-up, so a folder is made read-only only after everything inside it.
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):  # chmod follows symlinks: it could reach outside the tree
                os.chmod(path, 0o555 if mode & 0o111 else 0o444)
        os.chmod(dirpath, 0o555)


def remove_tree(root: Path) -> None:
    """Remove `root` and everything in it, read-only or not; a missing `root` is fine."""
    if not os.path.lexists(root):
        return
    if os.path.isdir(root) and not os.path.islink(root):
        # Without write permission on a folder its entries cannot be unlinked (unless root).
        for dirpath, _dirnames, _filenames in os.walk(root):
            os.chmod(dirpath, 0o755)
        shutil.rmtree(root)
    else:
        os.unlink(root)
