"""Attacks from inside a sandbox, each beside a harmless twin that must still work.

The probes run as a deployed function in a real `yun up`; the assertions are what the
process tier promises (docs/security.md).
"""

from __future__ import annotations

import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from yun_harness import Yun, free_port

ATTACKER = Path(__file__).resolve().parent / "functions" / "attacker"


@pytest.fixture(scope="module", params=["first instance", "forked instances"])
def node(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yun]:
    """The probes meet a version's first instance (the blank it was given, serving) or, with
    `scale.min: 2` started at once, instances forked from a template: the walls are the same."""
    work = tmp_path_factory.mktemp("security")
    yun = Yun(data_dir=work / "data", port=free_port())
    yun.start()
    try:
        if request.param == "first instance":
            yun.deploy(ATTACKER)
        else:
            folder = work / "attacker"
            shutil.copytree(ATTACKER, folder)
            manifest = folder / "yun.yaml"
            manifest.write_text(manifest.read_text().replace("scale: {min: 0, max: 2}",
                                                             "scale: {min: 2, max: 2}"))
            yun.deploy(folder)
            _wait_for_forked_instances(yun, 2)
        yield yun
    finally:
        yun.stop()


def _wait_for_forked_instances(yun: Yun, count: int) -> None:
    deadline = time.monotonic() + 30
    with yun.http() as http:
        while True:
            pools = http.get("/v1/instances").json()["pools"]
            pool = next((p for p in pools if p["function"] == "attacker"), None)
            if pool is not None and pool["instances"] == count:
                assert pool["template"], pool
                return
            assert time.monotonic() < deadline, pools
            time.sleep(0.05)


def probe(node: Yun, name: str, arg: object = None) -> dict[str, object]:
    with node.http() as http:
        response = http.post("/fn/attacker", json={"probe": name, "arg": arg})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_sandbox_runs_unprivileged_under_seccomp_with_no_new_privs(node: Yun) -> None:
    status = probe(node, "status")["result"]
    assert isinstance(status, dict)
    assert status["uid"] >= 100000
    assert status["Seccomp"] == "2"
    assert status["CapEff"] == status["CapPrm"] == status["CapBnd"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"


def test_the_function_reads_its_own_code_but_not_the_hosts_secrets(node: Yun) -> None:
    assert probe(node, "read", "/code/main.py")["ok"] is True
    for secret in ("/etc/shadow", str(node.data_dir / "admin.key"), str(node.data_dir / "yun.db"),
                   "/root/.bashrc", "/proc/1/root/etc/shadow"):
        assert probe(node, "read", secret)["ok"] is False, secret


def test_the_host_filesystem_and_other_functions_code_are_not_visible(node: Yun) -> None:
    root = probe(node, "listdir", "/")["result"]
    assert isinstance(root, list)
    assert "home" not in root and "sys" not in root and "var" not in root
    assert probe(node, "listdir", str(node.data_dir))["ok"] is False
    assert probe(node, "listdir", "/code")["ok"] is True


def test_code_is_read_only_and_tmp_is_private_and_writable(node: Yun) -> None:
    assert probe(node, "write", "/tmp/ok")["ok"] is True
    assert probe(node, "write", "/code/main.py")["ok"] is False
    assert probe(node, "write", "/usr/evil")["ok"] is False
    assert probe(node, "write", "/etc/passwd")["ok"] is False


def test_filling_tmp_ends_in_enospc_not_in_a_full_host_disk(node: Yun) -> None:
    result = probe(node, "fill_tmp")
    assert result["ok"] is False and "No space left" in str(result["error"])


def test_only_the_functions_own_processes_are_visible(node: Yun) -> None:
    pids = probe(node, "pids")["result"]
    assert isinstance(pids, list)
    assert max(pids) < 100  # a pid namespace of its own: the host's pids are not there


def test_escape_probes_are_denied(node: Yun) -> None:
    for attack in ("mount", "ptrace", "unshare", "setuid_root", "exe_write", "release_agent"):
        result = probe(node, attack)
        assert result["ok"] is False, (attack, result)


def test_another_process_environment_is_unreadable_but_own_environment_works(node: Yun) -> None:
    # pid 1 of the namespace: the template of forked instances (the first instance is pid 1
    # itself, and even its own environ is unreadable once it dropped root: not dumpable)
    assert probe(node, "environ_of", 1)["ok"] is False
    assert probe(node, "environ_of_parent")["ok"] is False  # a child's look at the instance
    assert probe(node, "read", "/code/yun.yaml")["ok"] is True


def test_no_descriptor_of_the_node_leaks_into_the_sandbox(node: Yun) -> None:
    fds = probe(node, "fds")["result"]
    assert isinstance(fds, list)
    assert len(fds) <= 6, fds  # stdio, the instance socket, and the listing's own fd


def test_the_network_is_closed_by_default_even_to_the_host(node: Yun) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert probe(node, "connect", f"127.0.0.1:{port}")["ok"] is False
    assert probe(node, "connect", f"127.0.0.1:{node.port}")["ok"] is False
    assert probe(node, "connect", "127.0.0.1:5432")["ok"] is False


def test_the_platform_api_still_answers_after_the_probes(node: Yun) -> None:
    assert httpx.get(f"{node.url}/v1/health").status_code == 200


def test_each_tenant_runs_as_its_own_uid(node: Yun) -> None:
    from test_tenants import cli_as, client, new_tenant

    key = new_tenant(node, "neighbour")
    assert cli_as(node, key, "deploy", str(ATTACKER)).returncode == 0
    with client(node, key) as http:
        theirs = http.post("/fn/attacker", json={"probe": "status"}).json()["result"]["uid"]
    ours = probe(node, "status")["result"]
    assert isinstance(ours, dict)
    assert theirs != ours["uid"] and theirs >= 100000
