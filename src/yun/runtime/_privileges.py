"""Dropping privileges inside the sandbox: rlimits, capabilities, uid, no_new_privs, seccomp.

Order matters: capabilities are dropped from the bounding set while still root (so nothing
exec'd later can regain them), then the uid changes (which clears the effective and permitted
sets), then no_new_privs (setuid binaries no longer elevate), then the seccomp filter.
"""

from __future__ import annotations

import os
import resource
import signal

from yun.runtime import _linux, _seccomp

LAST_CAP = 40  # CAP_CHECKPOINT_RESTORE; dropping unknown higher numbers just fails quietly


def limit_resources(open_files: int = 1024, file_size_mb: int = 1024) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
    size = file_size_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # A write past RLIMIT_FSIZE then fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def close_other_fds(keep: list[int]) -> None:
    """No descriptor of the node agent or the zygote may leak into user code."""
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    start = 3
    for fd in sorted(set(keep) - {0, 1, 2}):
        # Never an empty range: CPython 3.11 turns closerange(n, n) into close_range(n, n - 1),
        # and n - 1 = -1 wraps around to "every descriptor".
        if fd > start:
            os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def drop(uid: int, gid: int, privileges: bool = True, seccomp: bool = True) -> None:
    """Everything, unless a wall is left out to measure its cost (`privileges`: the
    capabilities, the uid change and no_new_privs; `seccomp`: the filter)."""
    if privileges:
        _drop_privileges(uid, gid)
    if seccomp:
        _seccomp.install()


def _drop_privileges(uid: int, gid: int) -> None:
    for cap in range(LAST_CAP + 1):
        try:
            _linux.prctl(_linux.PR_CAPBSET_DROP, cap)
        except OSError:
            break
    _linux.libc().prctl(_linux.PR_CAP_AMBIENT, _linux.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _linux.prctl(_linux.PR_SET_NO_NEW_PRIVS, 1)
