from __future__ import annotations

import asyncio
import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from yun.core.errors import DependencyError
from yun.storage import LayerStore

NO_NETWORK = ("--no-index",)


def build_wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel, zipped by hand: no build backend, no network."""
    dist = "yun_tiny_pkg-0.1.dist-info"
    files = {
        "yun_tiny_pkg/__init__.py": b"VALUE = 42\n",
        f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: yun-tiny-pkg\nVersion: 0.1\n",
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = []
    for name, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(content)}")
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    wheel = folder / "yun_tiny_pkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return wheel


@pytest.fixture
def wheels(tmp_path: Path) -> LayerStore:
    """A store whose pip sees only a local folder holding the tiny wheel."""
    (tmp_path / "wheels").mkdir()
    build_wheel(tmp_path / "wheels")
    args = (*NO_NETWORK, "--find-links", str(tmp_path / "wheels"))
    return LayerStore(tmp_path / "layers", extra_pip_args=args)


def test_the_layer_hash_ignores_comments_blank_lines_and_order() -> None:
    store = LayerStore(Path("/unused"))
    plain = store.layer_hash(b"attrs==23.1\nidna\n", "python3.11")
    noisy = b"# deps\n\nidna   # for urls\nattrs==23.1\n\n"
    assert store.layer_hash(noisy, "python3.11") == plain
    assert store.layer_hash(b"attrs==23.1\n", "python3.11") != plain
    assert store.layer_hash(b"attrs==23.1\nidna\n", "python3.12") != plain


async def test_a_requirements_file_pip_cannot_satisfy_raises_with_pips_output(
    tmp_path: Path,
) -> None:
    store = LayerStore(tmp_path / "layers", extra_pip_args=NO_NETWORK)
    lines: list[str] = []
    requirements = b"yun-no-such-package-zzz==0.0.1\n"

    with pytest.raises(DependencyError, match=r"failed \(exit 1\):\n") as raised:
        await store.ensure(requirements, "python3.11", lines.append)

    assert "yun-no-such-package-zzz" in raised.value.message
    assert lines  # pip's output was streamed as it came
    assert list((tmp_path / "layers").iterdir()) == []  # no layer, no temp folder, no listing


async def test_requirements_with_only_comments_make_an_empty_layer_without_running_pip(
    tmp_path: Path,
) -> None:
    store = LayerStore(tmp_path / "layers", python="/nonexistent/python")  # would fail if run
    layer = await store.ensure(b"# nothing yet\n\n   \n", "python3.11")
    assert [p.name for p in store.path(layer).iterdir()] == [".yun-layer.json"]


async def test_a_local_package_is_installed_into_the_layer(wheels: LayerStore) -> None:
    lines: list[str] = []
    layer = await wheels.ensure(b"yun-tiny-pkg==0.1\n", "python3.11", lines.append)

    installed = wheels.path(layer) / "yun_tiny_pkg" / "__init__.py"
    assert installed.read_text() == "VALUE = 42\n"
    assert any("Successfully installed yun-tiny-pkg-0.1" in line for line in lines)
    assert lines[-1] == f"installed dependency layer {layer[:12]}"
    assert sorted(p.name for p in wheels.root.iterdir()) == [layer]


async def test_a_second_ensure_uses_the_cached_layer_without_running_pip(
    wheels: LayerStore,
) -> None:
    first = await wheels.ensure(b"yun-tiny-pkg==0.1\n", "python3.11")
    lines: list[str] = []
    second = await wheels.ensure(b"# same\nyun-tiny-pkg==0.1\n", "python3.11", lines.append)
    assert second == first
    assert lines == [f"using cached dependency layer {first[:12]}"]


async def test_concurrent_ensures_of_one_layer_install_it_once(wheels: LayerStore) -> None:
    lines: list[str] = []
    hashes = await asyncio.gather(
        *(wheels.ensure(b"yun-tiny-pkg==0.1\n", "python3.11", lines.append) for _ in range(3))
    )
    assert len(set(hashes)) == 1
    assert sum("Successfully installed" in line for line in lines) == 1
    assert sum(line.startswith("using cached") for line in lines) == 2


async def test_pip_running_past_the_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "child.pid"
    hang = tmp_path / "python"
    hang.write_text(f"#!/bin/sh\necho collecting\nsleep 60 &\necho $! > {pids}\nwait\n")
    hang.chmod(0o755)
    store = LayerStore(tmp_path / "layers", python=str(hang), timeout=0.3)
    lines: list[str] = []

    # The outer deadline: a child left alive would hold pip's output open, and ensure() with it.
    with pytest.raises(DependencyError, match=r"timed out after 0.3s:\ncollecting"):
        async with asyncio.timeout(10):
            await store.ensure(b"anything\n", "python3.11", lines.append)

    assert lines == ["collecting"]
    assert list((tmp_path / "layers").iterdir()) == []
    child = int(pids.read_text())
    for _ in range(100):  # SIGKILL is delivered asynchronously; give the child a moment to die
        if not alive(child):
            break
        await asyncio.sleep(0.01)
    assert not alive(child), "pip's child process outlived the timeout"


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for init to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
