"""The zygote: a small interpreter with the runtime preloaded that forks templates on request.

Started once per runtime by the node agent (`python -m yun.runtime.zygote FD`) before its
event loop runs. Each template is forked from here, never exec'd, so a cold start skips
interpreter start-up and the runtime's imports.
"""

from __future__ import annotations

# Preload what every template and instance needs, so forks share these pages.
import asyncio  # noqa: F401
import concurrent.futures  # noqa: F401
import contextvars  # noqa: F401
import importlib  # noqa: F401
import json  # noqa: F401
import logging  # noqa: F401
import os
import signal
import socket
import sys
import traceback  # noqa: F401

import msgspec  # noqa: F401

import yun.sdk._decorator  # noqa: F401  (user code may `import yun` for the decorator)
from yun.protocol import Spawned, SpawnFailed, SpawnTemplate, recv_control, send_control
from yun.runtime import _linux, instance, template  # noqa: F401


def serve(control: socket.socket) -> None:
    # Templates re-parent to us when their first process exits (see template.start); ignoring
    # SIGCHLD makes the kernel reap them, so no zombie outlives its sandbox.
    _linux.prctl(_linux.PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the node agent decides when we stop
    while True:
        try:
            message, fds = recv_control(control)
        except EOFError:
            return  # the node agent is gone: so are we
        if not isinstance(message, SpawnTemplate):
            for fd in fds:
                os.close(fd)
            send_control(control, SpawnFailed(message=f"unexpected frame {type(message).__name__}"))
            continue
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            send_control(control, SpawnFailed(message=f"fork failed: {exc}"))
            continue
        if pid == 0:
            control.close()
            template.start(message, fds)  # never returns
        for fd in fds:
            os.close(fd)
        send_control(control, Spawned(pid=pid))


def main() -> None:
    fd = int(sys.argv[1])
    _linux.set_process_name("yun-zygote")
    serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main()
