"""The server side of a deploy: unpack an uploaded bundle, find its manifest, check its code."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from yun.core.errors import BundleError
from yun.core.manifest import load_manifest, manifest_from_decorated_source
from yun.core.types import Manifest
from yun.storage._checks import (
    check_handler,
    check_module_name,
    check_syntax,
    has_decorator,
    module_files,
)
from yun.storage._extract import Tree, extract
from yun.storage._fs import remove_tree
from yun.storage._limits import MANIFEST_NAMES


@dataclass(frozen=True)
class Bundle:
    """An unpacked, checked bundle, waiting in its staging folder `root` to be committed."""

    manifest: Manifest
    code_hash: str  # sha256 over the sorted (path, executable bit, bytes) of every file
    code_size: int  # bytes, unpacked
    files: int
    root: Path
    requirements: bytes | None  # the requirements file the manifest names, if it names one


def unpack(data: bytes, staging: Path) -> Bundle:
    """Unpack the zip `data` into `staging` (absent or empty) and check it, running no user code.

    Refuses, with a BundleError naming the entry or file: anything that is not a zip, unsafe
    entries (absolute, `..`, symlinks), bundles over the limits, a missing manifest, Python that
    does not compile, and a handler its module does not define. A bad manifest raises
    ManifestError. On any failure `staging` is removed. Blocking: run it in a thread.
    """
    if staging.exists() and any(staging.iterdir()):
        raise ValueError(f"staging folder {staging} must be empty")
    try:
        tree = extract(data, staging)
        return _check(tree, staging)
    except BaseException:
        remove_tree(staging)
        raise


def _check(tree: Tree, root: Path) -> Bundle:
    names = set(tree.names)
    # Syntax first: a decorated file that does not parse should be reported as such, not as
    # "no .py file with @yun.function".
    for name in tree.names:
        if name.endswith(".py"):
            check_syntax((root / name).read_bytes(), name)
    manifest, source = _manifest(tree.names, root)
    check_module_name(manifest.handler, manifest.module)

    for module_file in module_files(manifest.module):
        if module_file in names:
            check_handler(
                manifest.handler, manifest.attribute, (root / module_file).read_bytes(), module_file
            )
            break
    else:
        package, module = module_files(manifest.module)
        raise BundleError(
            f"handler {manifest.handler!r}: no module {manifest.module} "
            f"(looked for {module} and {package})"
        )

    requirements = None
    if manifest.requirements is not None:
        wanted = PurePosixPath(manifest.requirements.replace("\\", "/")).as_posix()
        if wanted not in names:
            raise BundleError(
                f"requirements file {manifest.requirements!r} named in {source} "
                "is not in the bundle"
            )
        requirements = (root / wanted).read_bytes()
    return Bundle(manifest, tree.code_hash, tree.size, len(tree.names), root, requirements)


def _manifest(names: tuple[str, ...], root: Path) -> tuple[Manifest, str]:
    """The manifest and the file it came from: `yun.yaml`, else the one decorated `.py` file."""
    top = [name for name in names if "/" not in name]
    found = [name for name in MANIFEST_NAMES if name in top]
    if len(found) > 1:
        raise BundleError(f"bundle has both {' and '.join(found)}; keep one")
    if found:
        return load_manifest(_text(root, found[0]), found[0]), found[0]

    decorated = [n for n in top if n.endswith(".py") and has_decorator((root / n).read_bytes())]
    if len(decorated) == 1:
        name = decorated[0]
        source = importlib.util.decode_source((root / name).read_bytes())  # honours coding cookies
        return manifest_from_decorated_source(source, name), name
    if decorated:
        raise BundleError(
            f"no yun.yaml, and several .py files with @yun.function ({', '.join(decorated)}); "
            "add a yun.yaml naming the handler"
        )
    nested = [n for n in names if n.count("/") == 1 and n.split("/")[1] in MANIFEST_NAMES]
    hint = f" (found {nested[0]}: zip the folder's contents, not the folder)" if nested else ""
    raise BundleError(f"no yun.yaml and no .py file with @yun.function{hint}")


def _text(root: Path, name: str) -> str:
    try:
        return (root / name).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise BundleError(f"{name} is not UTF-8 text: {e}") from e
