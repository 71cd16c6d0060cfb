"""Checked code, stored read-only by content hash: `<root>/<code_hash>/`."""

from __future__ import annotations

import compileall
import os
import py_compile
import re
import secrets
import shutil
from pathlib import Path

from yun.storage._bundle import Bundle
from yun.storage._fs import make_read_only, remove_tree

_HASH = re.compile(r"[0-9a-f]{64}")


def check_hash(value: str) -> str:
    """A hash becomes a path: anything but 64 hex digits could point elsewhere."""
    if not _HASH.fullmatch(value):
        raise ValueError(f"hash must be 64 lowercase hex digits, was: {value!r}")
    return value


class CodeStore:
    """Content-addressed code folders. Identical code is stored once, whoever deploys it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, code_hash: str) -> Path:
        return self.root / check_hash(code_hash)

    def commit(self, bundle: Bundle) -> Path:
        """Move the bundle's staging folder to `path(code_hash)`, read-only; return that path.

        Idempotent: if the code is stored already, the staging folder is just discarded. The
        folder appears whole or not at all (one rename of a finished sibling), so an instance
        never starts on half-copied code, and a crash mid-commit leaves only a `.tmp-*` folder.
        Blocking: run it in a thread.
        """
        final = self.path(bundle.code_hash)
        if final.is_dir():
            remove_tree(bundle.root)
            return final
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f".tmp-{bundle.code_hash[:12]}-{secrets.token_hex(4)}"
        try:
            shutil.move(bundle.root, temp)  # a rename when staging is on the same filesystem
            _precompile(temp)
            make_read_only(temp)
            try:
                os.rename(temp, final)
            except OSError:
                if not final.is_dir():
                    raise
                # Another commit of the same code won the race; its copy is identical.
        finally:
            remove_tree(temp)
        return final


def _precompile(folder: Path) -> None:
    """Write bytecode once at deploy, so no cold start compiles the code again.

    Unchecked-hash pycs: the code is immutable, so the interpreter need not compare the source
    with the cache on every import. Syntax errors were refused before this point.
    """
    compileall.compile_dir(
        str(folder), quiet=2, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
