"""Wire frames between the node agent, the zygote, templates and instances.

Imports only the standard library and msgspec: the runtime inside a sandbox depends on it.
"""

from yun.protocol._codec import (
    PREFIX,
    FrameError,
    decode,
    decode_header,
    encode,
    parse_prefix,
    read_frame,
    recv_control,
    send_control,
    send_frame,
)
from yun.protocol._frames import (
    Exited,
    Fork,
    Forked,
    HostCall,
    HostReply,
    InitFailed,
    Invoke,
    LogRecord,
    Message,
    Ready,
    Result,
    Spawned,
    SpawnFailed,
    SpawnTemplate,
    Specialise,
)
from yun.protocol._stream import Frame, FrameSplitter

__all__ = [
    "PREFIX",
    "Exited",
    "Fork",
    "Forked",
    "Frame",
    "FrameError",
    "FrameSplitter",
    "HostCall",
    "HostReply",
    "InitFailed",
    "Invoke",
    "LogRecord",
    "Message",
    "Ready",
    "Result",
    "SpawnFailed",
    "SpawnTemplate",
    "Spawned",
    "Specialise",
    "decode",
    "decode_header",
    "encode",
    "parse_prefix",
    "read_frame",
    "recv_control",
    "send_control",
    "send_frame",
]
