"""The `runsc` tier: the same attacks as the process tier's, from inside a gVisor sandbox.

The attacker function is deployed with `sandbox: runsc`; what must hold is what
docs/security.md promises for that tier: an application kernel of its own, an unprivileged
uid without capabilities, no host filesystem, no network, limits that end in a clear status,
and nothing left behind when the node stops.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from yun_harness import Yun, free_port

ATTACKER = Path(__file__).resolve().parent / "functions" / "attacker"
INTEGRATION = Path(__file__).resolve().parents[1] / "integration" / "functions"
pytestmark = pytest.mark.skipif(shutil.which("runsc") is None,
                                reason="gVisor's runsc is not installed (scripts/setup does)")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yun]:
    folder = tmp_path_factory.mktemp("runsc") / "attacker"
    shutil.copytree(ATTACKER, folder)
    manifest = yaml.safe_load((folder / "yun.yaml").read_text())
    manifest.update(name="gattacker", sandbox="runsc", timeout="5s")
    (folder / "yun.yaml").write_text(yaml.safe_dump(manifest))
    caller = folder.parent / "caller"
    shutil.copytree(INTEGRATION / "caller", caller)
    with (caller / "yun.yaml").open("a") as manifest_file:
        manifest_file.write("sandbox: runsc\n")
    yun = Yun(data_dir=folder.parent / "data", port=free_port())
    yun.start()
    for function in (folder, caller, INTEGRATION / "warm"):
        deployed = yun.deploy(function)
        assert deployed.returncode == 0, deployed.stderr
    try:
        yield yun
    finally:
        if yun.process is not None:
            yun.stop()


def probe(node: Yun, name: str, arg: object = None) -> dict[str, object]:
    with node.http(timeout=60) as http:
        response = http.post("/fn/gattacker", json={"probe": name, "arg": arg})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_function_runs_on_gvisors_kernel_unprivileged(node: Yun) -> None:
    version = probe(node, "read", "/proc/version")
    assert version["ok"] is True and "4.4.0" in str(version["result"])  # gVisor's, not 6.x
    status = probe(node, "status")["result"]
    assert isinstance(status, dict)
    assert status["uid"] >= 100000
    assert status["CapEff"] == status["CapPrm"] == "0000000000000000"
    assert probe(node, "setuid_root")["ok"] is False


def test_the_host_filesystem_and_secrets_are_not_visible(node: Yun) -> None:
    assert probe(node, "read", "/code/main.py")["ok"] is True
    for secret in ("/etc/shadow", str(node.data_dir / "admin.key"), str(node.data_dir / "yun.db"),
                   "/root/.bashrc"):
        assert probe(node, "read", secret)["ok"] is False, secret
    root = probe(node, "listdir", "/")["result"]
    assert isinstance(root, list)
    assert "home" not in root and "var" not in root
    assert probe(node, "write", "/code/main.py")["ok"] is False
    assert probe(node, "write", "/tmp/scratch")["ok"] is True  # its own /tmp


def test_there_is_no_network(node: Yun) -> None:
    for target in (f"127.0.0.1:{node.port}", "127.0.0.1:5432", "10.255.255.1:80"):
        assert probe(node, "connect", target)["ok"] is False, target


def test_host_calls_reach_the_platform_from_inside(node: Yun) -> None:
    with node.http(timeout=60) as http:
        response = http.post("/fn/caller", json={"action": "call", "target": "warm",
                                                  "event": {"n": 1}})
    assert response.status_code == 200, response.text
    assert "pid" in response.json()["got"]  # the process-tier function answered


def test_escape_probes_fail(node: Yun) -> None:
    for name in ("mount", "ptrace", "exe_write", "release_agent"):
        assert probe(node, name)["ok"] is False, name


def test_a_spin_times_out_and_a_hog_is_an_oom_and_the_twin_still_works(node: Yun) -> None:
    with node.http(timeout=60) as http:
        spin = http.post("/fn/gattacker", json={"probe": "spin"})
        hog = http.post("/fn/gattacker", json={"probe": "hog"})
        calm = http.post("/fn/gattacker", json={"probe": "status"})
    assert spin.headers.get("x-yun-function-error") == "timeout", spin.text
    assert hog.headers.get("x-yun-function-error") == "oom", hog.text
    assert calm.status_code == 200


def runsc_processes() -> list[int]:
    """runsc and what it started (Sentry, Gofer: runsc re-executed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "exe").endswith("/runsc"):
                    found.append(int(entry.name))
    return found


def test_nothing_is_left_after_the_node_stops(node: Yun) -> None:
    assert node.stop() == 0
    assert runsc_processes() == []
