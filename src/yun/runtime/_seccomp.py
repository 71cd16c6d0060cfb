"""A seccomp filter for function instances, written as classic BPF (no library needed).

A deny list on top of the other walls (no capabilities, namespaces, cgroups): the syscalls
that reach the kernel's riskiest code, or that an unprivileged process has no business making
even where they would fail anyway. Denied calls fail with EPERM rather than killing the
process, so a library probing for a feature degrades instead of crashing. Only x86-64 is
supported; any other architecture (including the x32 ABI) is refused outright.
"""

from __future__ import annotations

import ctypes
import errno
import platform

from yun.runtime import _linux

AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_MODE_FILTER = 2
PR_SET_SECCOMP = 22

# x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
DENIED = {
    "ptrace": 101, "syslog": 103, "personality": 135, "vhangup": 153, "pivot_root": 155,
    "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165,
    "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170,
    "setdomainname": 171, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "move_pages": 279, "perf_event_open": 298, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320,
    "bpf": 321, "userfaultfd": 323, "pkey_alloc": 330, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}
SYS_CLONE = 56
SYS_CLONE3 = 435
# clone() may make processes and threads, never namespaces.
CLONE_NAMESPACES = (0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000
                    | 0x40000000 | 0x02000000)  # NEWNS UTS IPC USER PID NET CGROUP

_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def program() -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions; jumps are relative. Exposed for tests.

    0  load arch; anything but x86-64 is killed
    3  load the syscall number; x32 numbers get EPERM
    6  one test per denied number, each jumping to the shared EPERM return
    …  clone3 gets ENOSYS (callers fall back to clone, whose flags a filter can read);
       clone with a namespace flag gets EPERM; everything else is allowed
    """
    eperm = SECCOMP_RET_ERRNO | errno.EPERM
    denied = sorted(DENIED.values())
    n = len(denied)
    eperm_at = 6 + n + 6
    code: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, 4),
        (_JEQ, 1, 0, AUDIT_ARCH_X86_64),
        (_RET, 0, 0, SECCOMP_RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, 0),
        (_JGE, 0, 1, _X32_BIT),
        (_RET, 0, 0, eperm),
    ]
    code += [(_JEQ, eperm_at - (6 + i) - 1, 0, number) for i, number in enumerate(denied)]
    code += [
        (_JEQ, 0, 1, SYS_CLONE3),
        (_RET, 0, 0, SECCOMP_RET_ERRNO | errno.ENOSYS),
        (_JEQ, 1, 0, SYS_CLONE),
        (_RET, 0, 0, SECCOMP_RET_ALLOW),
        (_LD_W_ABS, 0, 0, 16),  # low 32 bits of clone's flags (little-endian)
        (_JSET, 0, 1, CLONE_NAMESPACES),
        (_RET, 0, 0, eperm),  # eperm_at
        (_RET, 0, 0, SECCOMP_RET_ALLOW),
    ]
    assert code[eperm_at] == (_RET, 0, 0, eperm)
    return code


def install() -> None:
    """Load the filter into this process (and every child it forks). Needs no_new_privs."""
    if platform.machine() != "x86_64":
        raise OSError(f"the seccomp filter supports x86_64 only, this machine is "
                      f"{platform.machine()}: refusing to run functions without it")
    code = program()
    filters = (_Filter * len(code))(*[_Filter(*instruction) for instruction in code])
    prog = _Program(len(code), ctypes.cast(filters, ctypes.POINTER(_Filter)))
    result = _linux.libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                                 ctypes.cast(ctypes.pointer(prog), ctypes.c_void_p).value, 0, 0)
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"installing the seccomp filter failed: {errno.errorcode.get(err)}")
