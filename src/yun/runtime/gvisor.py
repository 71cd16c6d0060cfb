"""An instance inside a gVisor sandbox (`sandbox: runsc`): one interpreter per instance.

Started by `runsc` as the container's process (`python -S -m yun.runtime.gvisor HANDLER
CONCURRENCY`), with the invoke socket as its stdin and the host-call socket as its stdout
(the only descriptors `runsc` hands in). It imports the handler, says `Ready` (or
`InitFailed`) as the first frame on the invoke socket, then serves as any instance does.
Nothing is forked here: gVisor has no template to fork from, so every instance imports.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback

from yun.protocol import InitFailed, Ready, send_frame
from yun.runtime import instance
from yun.runtime._rootfs import CODE, LAYER
from yun.runtime.template import load_handler


def main() -> None:
    handler_name, concurrency = sys.argv[1], int(sys.argv[2])
    invoke = socket.socket(fileno=os.dup(0))
    host = socket.socket(fileno=os.dup(1))
    # stdin/stdout are the sockets: nothing else may write to them.
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.dont_write_bytecode = True
    started = time.perf_counter()
    try:
        handler = load_handler(handler_name, CODE, LAYER if os.path.isdir(LAYER) else None)
    except BaseException as exc:
        send_frame(invoke, InitFailed(error_type=type(exc).__name__, message=str(exc),
                                      traceback=traceback.format_exc()))
        os._exit(1)
    send_frame(invoke, Ready(init_ms=(time.perf_counter() - started) * 1000))
    instance.serve(invoke, handler, concurrency, host=host)
    os._exit(0)


if __name__ == "__main__":
    main()
