"""The sandbox's own minimal root, entered with pivot_root.

Visible inside: the system's /usr (programs and shared libraries), the Python installation
and the two platform packages the runtime runs on (msgspec, yun), all read-only; the function
at /code and its dependency layer at /layer, read-only; a private /proc of the function's pid
namespace; a minimal /dev; a size-limited private /tmp. Not visible: the node's data dir,
other functions' code, /root, /home, the host's /etc, /sys.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec

import yun
from yun.runtime import _linux

STAGING = "/run/yun/root"  # the node agent creates it; each sandbox mounts its own tmpfs here
CODE = "/code"
LAYER = "/layer"
_DEVICES = ("null", "zero", "full", "random", "urandom")
# Where the system has merged /usr, these are symlinks into it.
USR_LINKS = (("lib", "usr/lib"), ("lib64", "usr/lib64"), ("bin", "usr/bin"), ("sbin", "usr/sbin"))
_RO = _linux.MS_RDONLY | _linux.MS_NOSUID | _linux.MS_NODEV


def platform_paths() -> list[str]:
    """Host paths the interpreter needs inside the sandbox, mounted at the same place."""
    return sorted({
        sys.base_prefix,
        str(Path(msgspec.__file__).parent),
        str(Path(yun.__file__).parent),
    })


def prepare(root: str = STAGING, tmp_mb: int = 64) -> None:
    """Build everything that does not depend on the function (a blank does this early)."""
    _linux.mount("tmpfs", root, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, "mode=0755,size=4m")
    for link, target in USR_LINKS:
        if os.path.islink(f"/{link}"):
            os.symlink(target, f"{root}/{link}")
    _bind(root, "/usr", read_only=True)
    for path in platform_paths():
        _bind(root, path, read_only=True)
    for name in ("proc", "tmp", "dev", "etc", CODE[1:], LAYER[1:]):
        os.makedirs(f"{root}/{name}", exist_ok=True)
    _linux.mount("proc", f"{root}/proc", "proc",
                 _linux.MS_NOSUID | _linux.MS_NODEV | _linux.MS_NOEXEC)
    _linux.mount("tmpfs", f"{root}/tmp", "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV,
                 f"mode=1777,size={tmp_mb}m")
    _linux.mount("tmpfs", f"{root}/dev", "tmpfs", _linux.MS_NOSUID | _linux.MS_NOEXEC,
                 "mode=0755,size=64k")
    for device in _DEVICES:
        Path(f"{root}/dev/{device}").touch()
        _linux.mount(f"/dev/{device}", f"{root}/dev/{device}", None, _linux.MS_BIND)
    os.makedirs(f"{root}/dev/shm")
    _linux.mount("tmpfs", f"{root}/dev/shm", "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV,
                 "mode=1777,size=16m")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")


def enter(code_dir: str, layer_dir: str | None, hostname: str, uid: int, gid: int,
          egress: bool, root: str = STAGING) -> None:
    """Add the function, write /etc, pivot into the root and make it read-only."""
    _linux.mount(code_dir, f"{root}{CODE}", None, _linux.MS_BIND | _linux.MS_REC)
    _readonly(f"{root}{CODE}")
    if layer_dir:
        _linux.mount(layer_dir, f"{root}{LAYER}", None, _linux.MS_BIND | _linux.MS_REC)
        _readonly(f"{root}{LAYER}")
    _write_etc(f"{root}/etc", hostname, uid, gid)
    if egress:
        for path in ("/etc/resolv.conf", "/etc/ssl", "/etc/ca-certificates"):
            if os.path.exists(path):
                _bind(root, path, read_only=True)
    os.makedirs(f"{root}/.old", exist_ok=True)
    _linux.pivot_root(root, f"{root}/.old")
    os.chdir("/")
    _linux.umount("/.old", _linux.MNT_DETACH)
    os.rmdir("/.old")
    _readonly("/")


def _bind(root: str, path: str, read_only: bool) -> None:
    target = f"{root}{path}"
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        Path(target).touch()
    _linux.mount(path, target, None, _linux.MS_BIND | _linux.MS_REC)
    if read_only:
        _readonly(target)


def _readonly(target: str) -> None:
    _linux.mount(None, target, None, _linux.MS_REMOUNT | _linux.MS_BIND | _RO)


def _write_etc(etc: str, hostname: str, uid: int, gid: int) -> None:
    files = {
        "passwd": f"root:x:0:0:root:/:/usr/sbin/nologin\n"
                  f"function:x:{uid}:{gid}:function:/tmp:/usr/sbin/nologin\n",
        "group": f"root:x:0:\nfunction:x:{gid}:\n",
        "hosts": f"127.0.0.1 localhost {hostname}\n::1 localhost\n",
        "hostname": f"{hostname}\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
    }
    for name, text in files.items():
        Path(f"{etc}/{name}").write_text(text)
