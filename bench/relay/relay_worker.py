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


class Serve(asyncio.Protocol):
    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        out = []
        while len(buffer) >= HEADER.size:
            size, request_id = HEADER.unpack_from(buffer)
            end = HEADER.size + size
            if len(buffer) < end:
                break
            body = bytes(buffer[HEADER.size:end])
            del buffer[:end]
            result = json.dumps(handle(json.loads(body) if body else {})).encode()
            out.append(HEADER.pack(len(result), request_id) + result)
        if out:
            self.transport.write(b"".join(out))


async def main(path: str) -> None:
    server = await asyncio.get_running_loop().create_unix_server(Serve, path)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1]))
