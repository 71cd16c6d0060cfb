"""A function's template: a sandboxed process with the handler imported that forks instances.

The template is pid 1 of the function's own pid namespace, so it reaps every process of the
function and, when it dies, the kernel ends them all. It never serves requests itself: forking
from a process that runs user requests (threads, locks held) would be unsafe.

A blank told to `serve` becomes the version's first instance instead: it imports the handler
and serves, with no template and no fork (pid 1 of its namespace all the same). It never
forks an instance afterwards; the version's template, if it scales out, is another blank.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable

from yun.protocol import (
    Exited,
    Fork,
    Forked,
    InitFailed,
    Ready,
    SpawnTemplate,
    Specialise,
    recv_control,
    send_control,
)
from yun.runtime import _linux, _privileges, _rootfs, instance


def start(spec: SpawnTemplate, fds: list[int]) -> None:
    """Runs in the zygote's fresh child; never returns."""
    control: socket.socket | None = None
    try:
        own_network = "netns" not in spec.walls_off
        egress = spec.namespaces and spec.network == "egress" and own_network
        control_fd, cgroup_fds = fds[0], fds[1:-1] if egress else fds[1:]
        control = socket.socket(fileno=control_fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()
        _join_cgroups(cgroup_fds)
        if spec.namespaces:
            _linux.unshare(_linux.CLONE_NEWNS | _linux.CLONE_NEWUTS | _linux.CLONE_NEWIPC
                           | _linux.CLONE_NEWPID
                           | (_linux.CLONE_NEWNET if own_network and not egress else 0))
            if egress:
                _enter_network(fds[-1])
            # unshare(CLONE_NEWPID) applies to children only: fork once more so the template is
            # pid 1 inside; this process exits and the zygote (a subreaper) adopts the template.
            if os.fork() != 0:
                os._exit(0)
            _prepare_namespaces(spec)
        serve: list[int] = []  # told to serve: the instance's sockets and cgroup.procs fds
        if spec.blank:
            spec, serve = _wait_for_function(control)
        if spec.namespaces:
            _enter_sandbox(spec, control, keep=serve)
        _run(spec, control, serve)
    except BaseException as exc:
        # Say why on the control channel: after the sandbox is entered stderr is /dev/null.
        detail = traceback.format_exc()
        print(detail, file=sys.stderr, flush=True)
        if control is not None:
            with contextlib.suppress(OSError):
                send_control(control, InitFailed(error_type="SandboxError",
                                                 message=f"setting up the sandbox failed: {exc}",
                                                 traceback=detail))
        os._exit(70)
    os._exit(0)


def _join_cgroups(cgroup_fds: list[int]) -> None:
    for fd in cgroup_fds:
        os.write(fd, b"0")  # "0" moves the writing process
        os.close(fd)


def _enter_network(fd: int) -> None:
    """Join the network namespace the node agent prepared (veth, address, route, NAT)."""
    _linux.setns(fd, _linux.CLONE_NEWNET)
    os.close(fd)


def _prepare_namespaces(spec: SpawnTemplate) -> None:
    """What every sandbox needs before it knows its function (a blank stops after this)."""
    _linux.set_process_name("yun-blank")
    # Nothing mounted in here may propagate back to the host.
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    if spec.network != "egress" and "netns" not in spec.walls_off:
        _linux.loopback_up()
    if "pivot_root" not in spec.walls_off:
        _rootfs.prepare(tmp_mb=spec.tmp_mb)


def _wait_for_function(control: socket.socket) -> tuple[SpawnTemplate, list[int]]:
    """The function this blank becomes, and with `serve`, the instance's descriptors."""
    while True:
        try:
            message, fds = recv_control(control)
        except EOFError:
            os._exit(0)  # the node agent no longer needs this blank
        if not isinstance(message, Specialise):
            for fd in fds:
                os.close(fd)
            continue
        spec = message.spec
        if (spec.namespaces and spec.network == "egress" and "netns" not in spec.walls_off
                and fds):
            # A blank starts in a private namespace with only `lo`; swap it for the prepared one.
            _enter_network(fds.pop())
        if message.serve:
            return spec, fds
        for fd in fds:
            os.close(fd)
        return spec, []


def _enter_sandbox(spec: SpawnTemplate, control: socket.socket, keep: list[int]) -> None:
    """Pivot into the function's root and drop every privilege, before any user code runs
    (importing the handler runs user code). Descriptors in `keep` stay open."""
    _linux.sethostname(spec.hostname)
    if "pivot_root" not in spec.walls_off:
        _rootfs.enter(spec.code_dir, spec.layer_dir, spec.hostname, spec.uid, spec.gid,
                      egress=spec.network == "egress")
    _privileges.limit_resources()
    _privileges.close_other_fds(keep=[control.fileno(), *keep])
    _privileges.drop(spec.uid, spec.gid, privileges="privileges" not in spec.walls_off,
                     seccomp="seccomp" not in spec.walls_off)


def _environment(spec: SpawnTemplate) -> None:
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    os.environ.update(spec.env)
    sys.dont_write_bytecode = True  # code and layers are read-only; bytecode came with the deploy


def _load_handler(spec: SpawnTemplate) -> Callable[..., object]:
    pivoted = spec.namespaces and "pivot_root" not in spec.walls_off
    code, layer = ((_rootfs.CODE, _rootfs.LAYER if spec.layer_dir else None) if pivoted
                   else (spec.code_dir, spec.layer_dir))
    return load_handler(spec.handler, code, layer)


def load_handler(handler_name: str, code: str, layer: str | None) -> Callable[..., object]:
    """Import `module:function` from the function's code (then its layer)."""
    module_name, _, attribute = handler_name.partition(":")
    # Only the function's own code, its dependency layer and the standard library: the
    # platform's site-packages stay invisible to user code (already-imported modules remain).
    stdlib = [p for p in sys.path if "site-packages" not in p and p and os.path.isdir(p)]
    sys.path[:] = [code, *([layer] if layer else []), *stdlib]
    os.chdir(code)
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute, None)
    if handler is None:
        raise AttributeError(f"module {module_name!r} has no attribute {attribute!r}")
    if not callable(handler):
        raise TypeError(f"handler {handler_name!r} is not callable")
    return handler  # type: ignore[no-any-return]


def _run(spec: SpawnTemplate, control: socket.socket, serve: list[int]) -> None:
    _linux.set_process_name(f"yun-{'i' if serve else 't'}:{spec.hostname}")
    _environment(spec)
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        handler = _load_handler(spec)
    except BaseException as exc:
        send_control(
            control,
            InitFailed(
                error_type=type(exc).__name__,
                message=str(exc),
                traceback=traceback.format_exc(),
            ),
        )
        os._exit(1)
    # Everything loaded so far lives as long as the template: keep it out of the collector, so
    # a collection in an instance does not write to (and copy) every page it shares with us.
    gc.freeze()
    ready = Ready(init_ms=(time.perf_counter() - started) * 1000,
                  cpu_ms=(time.process_time() - started_cpu) * 1000)
    if serve:
        _serve(spec, control, handler, serve, ready)
    send_control(control, ready)
    _fork_server(spec, control, handler)


def _serve(spec: SpawnTemplate, control: socket.socket, handler: Callable[..., object],
           fds: list[int], ready: Ready) -> None:
    """Serve as the version's first instance; never returns. The instance's groups are joined
    after the import (which, as a template's, runs without the instance's CPU quota) and
    before Ready: once the node hears Ready the process has left the blank's CPU group."""
    _join_cgroups(fds[2:])
    send_control(control, ready)
    control.close()  # the node agent knows this instance by its sockets from now on
    instance.serve(socket.socket(fileno=fds[0]), handler, spec.concurrency,
                   host=socket.socket(fileno=fds[1]))
    os._exit(0)


def _fork_server(spec: SpawnTemplate, control: socket.socket,
                 handler: Callable[..., object]) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        readable, _, _ = select.select([control.fileno(), wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 512)
            _reap(control)
        if control.fileno() not in readable:
            continue
        try:
            message, fds = recv_control(control)
        except EOFError:
            os._exit(0)  # the node agent is gone; as pid 1 our exit ends every instance
        if not isinstance(message, Fork):
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(wake_r)
            os.close(wake_w)
            control.close()
            _join_cgroups(fds[2:])
            _linux.set_process_name(f"yun-i:{spec.hostname}")
            instance.serve(socket.socket(fileno=fds[0]), handler, spec.concurrency,
                           host=socket.socket(fileno=fds[1]))
            os._exit(0)
        for fd in fds:
            os.close(fd)
        send_control(control, Forked(instance=message.instance, pid=pid))


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        try:
            send_control(control, Exited(pid=pid, exit_code=os.waitstatus_to_exitcode(status)))
        except OSError:
            os._exit(0)
