"""Frames out of a byte stream, however the bytes arrive: several frames in one read, or one
frame over many (sans-I/O; the node agent feeds it from its event loop, an instance from a
blocking socket).

Reading everything available at once and cutting it here, instead of three exact reads per
frame, is what lets one wake-up serve every frame that has arrived.
"""

from __future__ import annotations

from yun.protocol._codec import PREFIX, check_lengths, decode_header
from yun.protocol._frames import Message

Frame = tuple[Message, bytes]


class FrameSplitter:
    def __init__(self) -> None:
        # The tail of an incomplete frame, kept as chunks so a large body arriving in many
        # reads is joined once (not copied again at every read).
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = PREFIX.size  # bytes the incomplete frame needs before anything can be cut

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data`, in order; FrameError on a corrupt stream."""
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            data = b"".join(self._chunks)
            self._chunks = []
        frames: list[Frame] = []
        pos, size = 0, len(data)
        need = PREFIX.size
        while size - pos >= PREFIX.size:
            head_len, body_len = PREFIX.unpack_from(data, pos)
            check_lengths(head_len, body_len)
            start = pos + PREFIX.size
            end = start + head_len + body_len
            if end > size:
                need = end - pos
                break
            body = data[start + head_len:end] if body_len else b""
            frames.append((decode_header(data[start:start + head_len]), body))
            pos = end
        if pos < size:
            rest = data[pos:] if pos else data
            self._chunks = [rest]
            self._have = len(rest)
            self._need = need
        else:
            self._have = 0
            self._need = PREFIX.size
        return frames
