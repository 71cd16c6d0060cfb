"""The relay's worker: decodes each framed JSON body, calls the peers' handler, frames the
answer; every answer produced by one read leaves in one write."""

import asyncio
import json
import struct
import sys

import uvloop

HEADER = struct.Struct("!II")


def handle(event: object) -> dict[str, object]:
    return {"hello": "world", "n": len(json.dumps(event))}


def split_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Cut every whole frame out of `buffer` (what is left is the start of the next one)."""
    frames = []
    while len(buffer) >= HEADER.size:
        size, request_id = HEADER.unpack_from(buffer)
        end = HEADER.size + size
        if len(buffer) < end:
            break
        frames.append((request_id, bytes(buffer[HEADER.size:end])))
        del buffer[:end]
    return frames


class Serve(asyncio.Protocol):
    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        for request_id, body in split_frames(self.buffer):
            result = json.dumps(handle(json.loads(body) if body else {})).encode()
            out.append(HEADER.pack(len(result), request_id) + result)
        if out:
            self.transport.write(b"".join(out))


async def main(path: str) -> None:
    server = await asyncio.get_running_loop().create_unix_server(Serve, path)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1]))
