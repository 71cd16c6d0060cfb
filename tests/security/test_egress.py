"""`network: egress`: out through the sandbox's own veth and NAT, never back into the host.

The reachable peer is a server inside a network namespace this test makes (a stand-in for
"the internet"), not the host's loopback, which must stay out of reach.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from yun_harness import Yun, alive, free_port, sandbox_processes

FUNCTIONS = Path(__file__).resolve().parent / "functions"
SERVER = """
import socket, sys
listener = socket.socket()
listener.bind((sys.argv[1], int(sys.argv[2])))
listener.listen()
print("ready", flush=True)
while True:
    conn, _ = listener.accept()
    conn.sendall(b"pong")
    conn.close()
"""


class Peer:
    """A network namespace with a veth to the host and a TCP server answering "pong"."""

    def __init__(self) -> None:
        tag = os.getpid() % 100000
        self.namespace = f"yunpeer-{tag}"
        self.interface = f"ypeer{tag}"
        subnet = tag % 250
        self.host_address = f"10.214.{subnet}.1"
        self.address = f"10.214.{subnet}.2"
        self.port = 8080
        self.server: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.stop()
        for command in (
            f"ip netns add {self.namespace}",
            f"ip link add {self.interface} type veth peer name eth0 netns {self.namespace}",
            f"ip addr add {self.host_address}/30 dev {self.interface}",
            f"ip link set {self.interface} up",
            f"ip -n {self.namespace} addr add {self.address}/30 dev eth0",
            f"ip -n {self.namespace} link set eth0 up",
            f"ip -n {self.namespace} link set lo up",
            f"ip -n {self.namespace} route add default via {self.host_address}",
        ):
            subprocess.run(command.split(), check=True, capture_output=True, timeout=10)
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, sys.executable, "-c", SERVER, self.address,
             str(self.port)], stdout=subprocess.PIPE, text=True)
        assert self.server.stdout is not None
        assert self.server.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait(10)
            self.server = None
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", self.interface], capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    peer = Peer()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, peer: Peer) -> Iterator[Yun]:
    yun = Yun(data_dir=tmp_path_factory.mktemp("egress") / "data", port=free_port())
    yun.start()
    yun.deploy(FUNCTIONS / "egress")
    yun.deploy(FUNCTIONS / "attacker")
    try:
        yield yun
    finally:
        if yun.process is not None:
            yun.stop()


def egress(node: Yun, probe: str, arg: object = None) -> dict[str, object]:
    with node.http() as http:
        response = http.post("/fn/egress", json={"probe": probe, "arg": arg})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def host_interfaces() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def nft_tables() -> str:
    return subprocess.run(["nft", "list", "tables", "inet"], capture_output=True, text=True,
                          check=True).stdout


def _deploy_egress_as(node: Yun, tmp_path: Path, name: str, scale: str) -> None:
    """The egress function under another name, with another `scale`."""
    folder = tmp_path / name
    shutil.copytree(FUNCTIONS / "egress", folder)
    (folder / "yun.yaml").write_text((folder / "yun.yaml").read_text().replace(
        "name: egress", f"name: {name}").replace("scale: {min: 0, max: 2}", f"scale: {scale}"))
    node.deploy(folder)


def test_an_egress_function_reaches_a_server_in_another_network(node: Yun, peer: Peer) -> None:
    assert egress(node, "talk", f"{peer.address}:{peer.port}") == {"ok": True, "result": "pong"}


def test_instances_forked_from_an_egress_template_reach_the_server_too(
        node: Yun, peer: Peer, tmp_path: Path) -> None:
    # The tests around meet a version's first instance (the blank it was given, serving);
    # `scale.min: 2` starts two at once, forked from a template.
    _deploy_egress_as(node, tmp_path, "egress-forked", "{min: 2, max: 2}")
    with node.http() as http:
        _eventually(lambda: any(p["function"] == "egress-forked" and p["instances"] == 2
                                and p["template"]
                                for p in http.get("/v1/instances").json()["pools"]), timeout=30)
        for _ in range(2):
            result = http.post("/fn/egress-forked",
                               json={"probe": "talk", "arg": f"{peer.address}:{peer.port}"})
            assert result.json() == {"ok": True, "result": "pong"}


def test_an_egress_function_has_its_own_interfaces_not_the_hosts(node: Yun) -> None:
    interfaces = egress(node, "interfaces")["result"]
    assert interfaces == ["eth0", "lo"]


def test_a_function_without_egress_cannot_reach_the_server(node: Yun, peer: Peer) -> None:
    with node.http() as http:
        result = http.post("/fn/attacker", json={"probe": "connect",
                                                 "arg": f"{peer.address}:{peer.port}"}).json()
    assert result["ok"] is False


def test_an_egress_function_cannot_reach_the_host_or_yuns_own_port(node: Yun, peer: Peer) -> None:
    host_addresses = ["127.0.0.1", peer.host_address, *_global_addresses()]
    with socket.create_server(("0.0.0.0", 0)) as everywhere:
        # A service listening on every host address: only the walls keep the sandbox out.
        port = everywhere.getsockname()[1]
        for address in host_addresses:
            socket.create_connection((address, port), timeout=1).close()
            for target in (node.port, 5432, port):
                result = egress(node, "connect", f"{address}:{target}")
                assert result["ok"] is False, (address, target, result)


def test_egress_sandboxes_cannot_reach_each_other(node: Yun, tmp_path: Path) -> None:
    neighbour = tmp_path / "neighbour"
    shutil.copytree(FUNCTIONS / "egress", neighbour)
    (neighbour / "yun.yaml").write_text(
        (neighbour / "yun.yaml").read_text().replace("name: egress", "name: egress-b"))
    node.deploy(neighbour)
    listening = egress(node, "listen", 9000)
    assert listening["ok"] is True, listening
    address = listening["result"]
    assert isinstance(address, str) and address.startswith("10.213.")
    assert egress(node, "talk", f"{address}:9000") == {"ok": True, "result": "here"}
    with node.http() as http:
        theirs = http.post("/fn/egress-b", json={"probe": "connect", "arg": f"{address}:9000"})
    assert theirs.json()["ok"] is False, theirs.text


def test_the_host_is_unreachable_through_the_sandboxs_own_gateway_v4_or_v6(node: Yun) -> None:
    listening = egress(node, "listen", 9002)
    assert listening["ok"] is True, listening
    gateway = str(ipaddress.IPv4Address(listening["result"]) - 1)
    interface = next(name for name, address in _host_sides() if address == gateway)
    link_local = subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", interface, "scope",
                                 "link"], capture_output=True, text=True, check=True).stdout
    assert link_local, f"{interface} has no IPv6 link-local address"
    gateway6 = link_local.split()[3].split("/")[0]
    with socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True) as server:
        port = server.getsockname()[1]
        # The listener is there for anyone on the host: only the walls keep the sandbox out.
        socket.create_connection((gateway, port), timeout=1).close()
        for address in (gateway, f"{gateway6}%eth0"):
            result = egress(node, "connect", f"{address}:{port}")
            assert result["ok"] is False, (address, result)


def _host_sides() -> list[tuple[str, str]]:
    listing = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True,
                             text=True, check=True).stdout
    return [(line.split()[1], line.split()[3].split("/")[0]) for line in listing.splitlines()
            if line.split()[1].startswith("yn")]


def test_a_sandboxs_veth_goes_away_with_the_sandbox(node: Yun, tmp_path: Path) -> None:
    _deploy_egress_as(node, tmp_path, "egress-brief", "{min: 0, max: 1, keep_alive: 1s}")
    with node.http() as http:
        result = http.post("/fn/egress-brief", json={"probe": "listen", "arg": 9001}).json()
    address = ipaddress.IPv4Address(result["result"])
    host_side = str(address - 1)
    assert host_side in _host_side_addresses()
    # keep_alive 1 s, then the autoscaler reaps the instance, and its namespace goes with it.
    _eventually(lambda: host_side not in _host_side_addresses(), timeout=10)


def _host_side_addresses() -> set[str]:
    return {address for _, address in _host_sides()}


def test_the_walls_and_interfaces_go_away_when_yun_up_stops(tmp_path: Path, peer: Peer) -> None:
    yun = Yun(data_dir=tmp_path / "data", port=free_port())
    yun.start()
    before = host_interfaces()
    try:
        yun.deploy(FUNCTIONS / "egress")
        assert egress(yun, "talk", f"{peer.address}:{peer.port}")["ok"] is True
        assert yun.process is not None
        table = f"yun-{yun.process.pid}"
        assert table in nft_tables()
        assert {i for i in host_interfaces() - before if i.startswith("yn")}
    finally:
        assert yun.stop() == 0
    _eventually(lambda: not {i for i in host_interfaces() - before if i.startswith("yn")})
    assert table not in nft_tables()


def test_after_a_crash_the_interfaces_go_and_the_next_start_removes_the_table(
        tmp_path: Path, peer: Peer) -> None:
    yun = Yun(data_dir=tmp_path / "data", port=free_port())
    yun.start()
    before = host_interfaces()
    yun.deploy(FUNCTIONS / "egress")
    assert egress(yun, "talk", f"{peer.address}:{peer.port}")["ok"] is True
    assert yun.process is not None
    table = f"yun-{yun.process.pid}"
    sandboxes = sandbox_processes(yun)
    yun.stop(sig=9)
    _eventually(lambda: not alive(sandboxes))
    _eventually(lambda: not {i for i in host_interfaces() - before if i.startswith("yn")})
    assert table in nft_tables()  # nothing ran to remove it...
    yun.start()
    try:
        assert table not in nft_tables()  # ...until the next start
    finally:
        yun.stop()


def _global_addresses() -> list[str]:
    listing = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, check=True).stdout
    return [line.split()[3].split("/")[0] for line in listing.splitlines()
            if not line.split()[1].startswith("yn")]


def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition did not hold in time"
        time.sleep(0.05)
