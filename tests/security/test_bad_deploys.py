"""Hostile bundles sent straight to `POST /v1/functions` (not through `yun deploy`, which
would refuse most of them before upload): each is refused with a message naming what is
wrong, quickly, and leaves nothing behind — no code, no staging folder, no function."""

from __future__ import annotations

import io
import stat
import struct
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from yun_harness import Yun, free_port

YUN_YAML = "name: victim\nhandler: main:handle\n"
MAIN_PY = "def handle(event, context):\n    return event\n"


def bundle(*entries: tuple[str, bytes | str, int], **manifest: str) -> bytes:
    """A zip of (name, content, unix mode) entries, plus yun.yaml and main.py unless given."""
    buffer = io.BytesIO()
    names = {name for name, _, _ in entries}
    defaults = [(n, c, 0o100644) for n, c in (("yun.yaml", YUN_YAML), ("main.py", MAIN_PY))
                if n not in names]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content, mode in [*defaults, *entries]:
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # unix, so the mode bits below count
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def declaring(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size that the headers of entry `name` claim."""
    patched = bytearray(data)
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = patched.find(signature)
        while at != -1:
            if patched[at + name_at:at + name_at + len(name)] == name:
                struct.pack_into("<I", patched, at + size_at, size)
            at = patched.find(signature, at + 4)
    return bytes(patched)


HUGE_ENV = "".join(f"  V{i}: x\n" for i in range(10**6))

BAD = {
    "symlink out of the bundle": (
        bundle(("secrets", "/etc/shadow", stat.S_IFLNK | 0o777)), "is a symlink"),
    "relative symlink out": (
        bundle(("up", "../../../../data", stat.S_IFLNK | 0o777)), "is a symlink"),
    "path traversal": (bundle(("../../evil.py", "x = 1\n", 0o100644)), "contains '..'"),
    "nested traversal": (bundle(("lib/../../evil.py", "x = 1\n", 0o100644)), "contains '..'"),
    "absolute path": (bundle(("/tmp/evil.py", "x = 1\n", 0o100644)), "is an absolute path"),
    "a 2 GiB file": (
        declaring(bundle(("big.bin", b"\0" * 1024, 0o100644)), b"big.bin", 2 << 30),
        "more than the 250.0 MiB allowed"),
    "zip bomb under a small header": (
        declaring(bundle(("bomb.bin", b"\0" * (64 << 20), 0o100644)), b"bomb.bin", 4096),
        "'bomb.bin' is corrupt"),  # reading stops at the claimed size; the CRC then fails
    "character device": (
        bundle(("dev-mem", "", stat.S_IFCHR | 0o666)), "is not a regular file"),
    "block device": (bundle(("sda", "", stat.S_IFBLK | 0o666)), "is not a regular file"),
    "fifo": (bundle(("pipe", "", stat.S_IFIFO | 0o666)), "is not a regular file"),
    "setuid file": (bundle(("tool", "#!/bin/sh\n", 0o104755)), "setuid or setgid bit"),
    "setgid file": (bundle(("tool", "#!/bin/sh\n", 0o102755)), "setuid or setgid bit"),
    "manifest with a million env vars": (
        bundle(("yun.yaml", YUN_YAML + "env:\n" + HUGE_ENV, 0o100644)),
        "more than the 64 KiB a manifest may be"),
    "a 15 MB Python file": (
        bundle(("main.py", MAIN_PY + "TABLE = [" + "1," * (7 << 20) + "]\n", 0o100644)),
        "a Python file may be"),
    "handler from the standard library": (
        bundle(("yun.yaml", "name: victim\nhandler: os:system\n", 0o100644),
               ("os.py", "def system(e, c):\n    return 1\n", 0o100644)),
        "'os' is a standard-library module name"),
    "handler from the platform": (
        bundle(("yun.yaml", "name: victim\nhandler: yun.server:main\n", 0o100644),
               ("yun/server.py", "def main(e, c):\n    return 1\n", 0o100644)),
        "'yun' is the platform's module name"),
    "relative handler module": (
        bundle(("yun.yaml", "name: victim\nhandler: ..main:handle\n", 0o100644)),
        "handler must be module:function"),
    "handler missing from the bundle": (
        bundle(("yun.yaml", "name: victim\nhandler: elsewhere:handle\n", 0o100644)),
        "no module elsewhere"),
}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yun]:
    yun = Yun(data_dir=tmp_path_factory.mktemp("deploys") / "data", port=free_port())
    yun.start()
    try:
        yield yun
    finally:
        yun.stop()


def stored(node: Yun) -> tuple[list[str], list[str], list[object]]:
    code = sorted(p.name for p in (node.data_dir / "code").glob("*"))
    staging = node.data_dir / "staging"
    leftovers = sorted(p.name for p in staging.iterdir()) if staging.exists() else []
    with node.http() as http:
        functions = http.get("/v1/functions").json()["functions"]
    return code, leftovers, functions


@pytest.mark.parametrize("case", list(BAD))
def test_a_hostile_bundle_is_refused_clearly_and_nothing_is_stored(node: Yun, case: str) -> None:
    data, reason = BAD[case]
    before = stored(node)
    started = time.monotonic()
    with node.http(timeout=60) as http:
        response = http.post("/v1/functions", content=data,
                             headers={"content-type": "application/zip"})
    elapsed = time.monotonic() - started
    assert response.status_code in (400, 413), response.text
    assert reason in response.json()["error"]["message"], response.text
    assert elapsed < 10, f"refusing took {elapsed:.1f} s"
    assert stored(node) == before


def test_the_harmless_twin_deploys_and_runs(node: Yun) -> None:
    with node.http() as http:
        response = http.post("/v1/functions", content=bundle(),
                             headers={"content-type": "application/zip"})
        assert response.status_code == 201, response.text
        assert http.post("/fn/victim", json={"ok": 1}).json() == {"ok": 1}
