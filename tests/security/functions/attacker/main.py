"""Runs one probe inside the sandbox and reports what happened, never raising."""

import ctypes
import os
import socket


def _try(action):
    try:
        result = action()
    except Exception as exc:  # the point is to report, whatever happened
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "result": result}


def _write(path, data):
    with open(path, "wb") as handle:
        return handle.write(data)


def _read(path):
    with open(path, "rb") as handle:
        return handle.read(64).decode("latin-1")


def _status():
    fields = {}
    for line in _read_all("/proc/self/status").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    # gVisor's /proc shows no Seccomp or NoNewPrivs line (its filter is on its own kernel).
    return {"uid": os.getuid(), "Seccomp": fields.get("Seccomp"), "CapEff": fields["CapEff"],
            "CapPrm": fields["CapPrm"], "CapBnd": fields.get("CapBnd"),
            "NoNewPrivs": fields.get("NoNewPrivs")}


def _read_all(path):
    with open(path) as handle:
        return handle.read()


def _mount():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), "mount failed")
    return "mounted"


def _ptrace_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, 1, None, None) != 0:  # PTRACE_ATTACH to pid 1 (the template)
        raise OSError(ctypes.get_errno(), "ptrace failed")
    return "attached"


def _unshare():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        raise OSError(ctypes.get_errno(), "unshare failed")
    return "unshared"


def _connect(host, port):
    socket.create_connection((host, int(port)), timeout=1).close()
    return "connected"


def _fill_tmp():
    written = 0
    with open("/tmp/fill", "wb") as handle:
        chunk = b"x" * (1 << 20)
        for _ in range(1024):
            handle.write(chunk)
            written += len(chunk)
    return written


def _environ_of_parent():
    """A child of the instance reads the instance's environment: another process's."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        outcome = _try(lambda: _read(f"/proc/{os.getppid()}/environ"))
        os.write(writer, repr(outcome["ok"]).encode())
        os._exit(0)
    os.close(writer)
    answer = os.read(reader, 16).decode()
    os.close(reader)
    os.waitpid(pid, 0)
    if answer != "True":
        raise PermissionError(f"the child could not read it (ok={answer})")
    return "read"


def _spin():
    while True:
        pass


def _hog():
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))


def handle(event, context):
    probe = event["probe"]
    arg = event.get("arg")
    probes = {
        "status": _status,
        "read": lambda: _read(arg),
        "listdir": lambda: sorted(os.listdir(arg)),
        "write": lambda: _write(arg, b"x"),
        "mount": _mount,
        "ptrace": _ptrace_parent,
        "unshare": _unshare,
        "setuid_root": lambda: os.setuid(0),
        "connect": lambda: _connect(*arg.split(":")),
        "fill_tmp": _fill_tmp,
        "fds": lambda: sorted(os.listdir("/proc/self/fd")),
        "environ_of": lambda: _read(f"/proc/{arg}/environ"),
        "environ_of_parent": _environ_of_parent,
        "pids": lambda: sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "exe_write": lambda: _write("/proc/self/exe", b"x"),
        "release_agent": lambda: _write("/sys/fs/cgroup/release_agent", b"/x"),
        "spin": _spin,
        "hog": _hog,
    }
    return _try(probes[probe])
