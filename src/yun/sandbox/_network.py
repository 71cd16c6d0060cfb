"""Network namespaces for `network: egress` sandboxes: a veth pair to the host, NAT, walls.

Each egress sandbox gets its own network namespace with `eth0` (a /30 from `SUBNET`, default
route to the host side) and `lo`. The host side is `yn<slot>`; the slot fixes the addresses, and
the kernel's refusal of a second interface with the same name keeps slots unique even across
several `yun up` processes on one machine.

Nothing here needs per-sandbox cleanup: a namespace lives as long as its descriptor (held by
the node agent) or a process inside it, and deleting a namespace deletes its veth pair, host
side included. So when a template ends, or `yun up` dies and its sandboxes with it, the
interfaces go too. The firewall is one nftables table per `yun up` (`inet yun-<pid>`), matching
every `yn*` interface; the next start removes tables of `yun up` processes that are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from yun.core import PlatformError
from yun.runtime import _linux

SUBNET = ipaddress.IPv4Network("10.213.0.0/16")
SLOTS = SUBNET.num_addresses // 4
HOST_PREFIX = "yn"
_TABLE = re.compile(r"^table inet (yun-(\d+))$", re.MULTILINE)
# Denied to every sandbox: the host itself (all its addresses, so the Yun API and the databases
# on it), other sandboxes, loopback, link-local (cloud metadata), multicast and broadcast.
_BLOCKED = "10.213.0.0/16, 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/3"


def _ruleset(table: str) -> str:
    return f"""
table inet {table} {{
  chain input {{
    type filter hook input priority filter - 1; policy accept;
    iifname "{HOST_PREFIX}*" drop
  }}
  chain forward {{
    type filter hook forward priority filter - 1; policy accept;
    oifname "{HOST_PREFIX}*" ct state established,related accept
    oifname "{HOST_PREFIX}*" drop
    iifname "{HOST_PREFIX}*" meta nfproto ipv6 drop
    iifname "{HOST_PREFIX}*" ip daddr {{ {_BLOCKED} }} drop
    iifname "{HOST_PREFIX}*" accept
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {SUBNET} oifname != "{HOST_PREFIX}*" masquerade
  }}
}}
"""


@dataclass
class NetNamespace:
    """A prepared network namespace, held open by `fd` until the sandbox in it ends."""

    fd: int
    slot: int  # host side `yn<slot>`; the sandbox's address is the /30's second one

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class EgressNetwork:
    """Makes network namespaces for egress sandboxes, keeping `spares` made ahead of demand."""

    def __init__(self, spares: int = 1) -> None:
        self.table = f"yun-{os.getpid()}"
        self.spares = spares
        self._spares: deque[NetNamespace] = deque()
        self._next_slot = os.getpid() % SLOTS
        self._ready = False
        self._stopped = False
        self._refill = asyncio.Event()
        # create() runs in worker threads (a cold start's and the spare's may overlap).
        self._lock = threading.Lock()

    def remove_stale(self) -> list[str]:
        """Delete the tables of `yun up` processes that no longer run. Returns their names."""
        if shutil.which("nft") is None:
            return []
        listing = _run(["nft", "list", "tables", "inet"]).stdout
        stale = [name for name, pid in _TABLE.findall(listing) if not _linux.pid_alive(int(pid))]
        for name in stale:
            _run(["nft", "delete", "table", "inet", name])
        return stale

    def _install(self) -> None:
        """Install this process's table (once) and turn on forwarding. Under `_lock`."""
        if self._ready:
            return
        if self._stopped:
            raise PlatformError("the node is shutting down")
        if shutil.which("nft") is None or shutil.which("ip") is None:
            raise PlatformError("network: egress needs the nft and ip programs (Debian packages "
                                "nftables and iproute2; scripts/setup installs them)")
        with contextlib.suppress(PlatformError):
            _run(["nft", "delete", "table", "inet", self.table])
        _run(["nft", "-f", "-"], stdin=_ruleset(self.table))
        with open("/proc/sys/net/ipv4/ip_forward", "w") as sysctl:
            sysctl.write("1")
        self._ready = True

    async def take(self) -> NetNamespace:
        """A namespace ready for a sandbox: a spare when there is one, else made now.
        Call `replenish()` once the sandbox is up."""
        if self._spares:
            return self._spares.popleft()
        return await asyncio.to_thread(self.create)

    def replenish(self) -> None:
        # Not from take(): making a namespace runs `ip` and competes for the CPU with the
        # cold start that took the spare (measured: +6 ms at p50 on a loaded 2-core machine).
        self._refill.set()

    async def keep_spares(self) -> None:
        """Keep `spares` namespaces made, once egress has been asked for. Runs until cancelled."""
        while True:
            await self._refill.wait()
            self._refill.clear()
            while len(self._spares) < self.spares:
                try:
                    self._spares.append(await asyncio.to_thread(self.create))
                except PlatformError:
                    break

    def create(self) -> NetNamespace:
        """Make a namespace with its veth pair, addresses and default route (blocking)."""
        for _ in range(64):
            with self._lock:
                self._install()
                slot = self._next_slot
                self._next_slot = (slot + 1) % SLOTS
            namespace = _make_namespace(slot)
            if namespace is not None:
                return namespace
        raise PlatformError(f"no free egress address in {SUBNET}: 64 slots in a row were taken")

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            while self._spares:
                self._spares.popleft().close()
            if self._ready:
                with contextlib.suppress(PlatformError, OSError):
                    _run(["nft", "delete", "table", "inet", self.table])
                self._ready = False


def _make_namespace(slot: int) -> NetNamespace | None:
    """None if the slot's interface name is taken (another sandbox, another `yun up`)."""
    result: list[NetNamespace | BaseException | None] = []

    # Namespaces belong to threads: a short-lived thread enters the new namespace, so the
    # agent's own threads never leave the host's, even if switching back failed.
    def work() -> None:
        try:
            result.append(_make_in_thread(slot))
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=work, name=f"yun-netns-{slot}")
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _make_in_thread(slot: int) -> NetNamespace | None:
    mtu = _uplink_mtu()
    base = SUBNET[slot * 4]
    host_address, address = base + 1, base + 2
    host_interface = f"{HOST_PREFIX}{slot}"
    host = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _linux.unshare(_linux.CLONE_NEWNET)
        fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            # Run inside the new namespace: `eth0` is made here, its peer goes to the host's.
            commands = (
                f"link add eth0 mtu {mtu} type veth peer name {host_interface} mtu {mtu} "
                f"netns /proc/self/fd/{host}\n"
                "link set lo up\n"
                f"addr add {address}/30 dev eth0\n"
                "link set eth0 up\n"
                f"route add default via {host_address}\n"
            )
            made = subprocess.run(["ip", "-batch", "-"], input=commands, text=True,
                                  capture_output=True, pass_fds=[host], check=False)
        finally:
            _linux.setns(host, _linux.CLONE_NEWNET)
        if made.returncode != 0:
            os.close(fd)
            if "File exists" in made.stderr:
                return None
            raise PlatformError(f"could not make the egress network {host_interface}: "
                                f"{made.stderr.strip()}")
        try:
            _configure_host_side(host_interface, str(host_address))
        except OSError as exc:
            os.close(fd)  # deleting the namespace deletes the veth pair
            raise PlatformError(f"could not configure {host_interface}: {exc}") from exc
        return NetNamespace(fd=fd, slot=slot)
    finally:
        os.close(host)


_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_SIOCSIFADDR = 0x8916
_SIOCSIFNETMASK = 0x891C
_IFF_UP = 0x1


def _configure_host_side(interface: str, address: str) -> None:
    name = interface.encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for request, value in ((_SIOCSIFADDR, address), (_SIOCSIFNETMASK, "255.255.255.252")):
            fcntl.ioctl(sock.fileno(), request, struct.pack(
                "16sH2x4s8x", name, socket.AF_INET, socket.inet_aton(value)))
        flags = struct.unpack("16sH14x", fcntl.ioctl(
            sock.fileno(), _SIOCGIFFLAGS, struct.pack("16sH14x", name, 0)))[1]
        fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", name, flags | _IFF_UP))


def _uplink_mtu() -> int:
    """The MTU of the host's default-route interface, so a sandbox's TCP picks segments that
    fit the way out instead of relying on path-MTU discovery (1500 if there is no route)."""
    try:
        routes = Path("/proc/net/route").read_text().splitlines()[1:]
        uplinks = [line.split()[0] for line in routes if line.split()[1:2] == ["00000000"]]
        return min(int(Path(f"/sys/class/net/{name}/mtu").read_text()) for name in uplinks)
    except (OSError, ValueError):  # min() of nothing is a ValueError too
        return 1500


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, input=stdin, text=True, capture_output=True, check=True)
    except subprocess.CalledProcessError as exc:
        raise PlatformError(f"{' '.join(argv)} failed: {exc.stderr.strip()}") from exc

