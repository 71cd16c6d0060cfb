"""Bucket put/get throughput: the local-folder backend against moto's S3 server, same run.

    .venv/bin/python bench/buckets.py [--quick]

Both go through the same `Buckets` calls from this process (pinned to core 1); moto runs as
its own process pinned to core 0. Rounds interleave the backends (local, S3, local, S3, …)
and the table gives medians. Local puts include the fsyncs that make them durable; moto keeps
objects in memory, so it is a peer for the protocol cost (HTTP, signing, boto3 in threads),
not for storage.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import _harness as h

from yun.storage import Buckets, LocalBuckets, S3Buckets

SIZES = (4 << 10, 1 << 20)  # a small document, a photo


async def round_trip(buckets: Buckets, size: int, count: int, tag: str) -> tuple[float, float]:
    """Seconds to put `count` objects of `size` bytes one after another, then to get them."""
    body = os.urandom(size)
    started = time.perf_counter()
    for n in range(count):
        await buckets.put("bench", "objects", f"{tag}/{n:05d}", body)
    put = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(count):
        _info, chunks = await buckets.get("bench", "objects", f"{tag}/{n:05d}")
        async for _chunk in chunks:
            pass
    return put, time.perf_counter() - started


async def measure(quick: bool, endpoint: str, folder: Path) -> list[list[object]]:
    rounds = 3 if quick else 5
    env = {"YUN_BUCKETS_ACCESS_KEY": "bench", "YUN_BUCKETS_SECRET_KEY": "bench"}
    s3 = S3Buckets.from_url(f"s3://yun-bench?endpoint={endpoint}&region=us-east-1", env)
    await s3.open()
    backends: dict[str, Buckets] = {"local": LocalBuckets(folder), "s3 (moto)": s3}
    for buckets in backends.values():
        await buckets.create_bucket("bench", "objects")
    rows: list[list[object]] = []
    for size in SIZES:
        count = (50 if quick else 200) if size < (64 << 10) else (10 if quick else 40)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in backends}
        for r in range(rounds):
            for name, buckets in backends.items():
                times[name].append(await round_trip(buckets, size, count, f"{size}-{r}"))
        for name in backends:
            put = h.median([t[0] for t in times[name]])
            get = h.median([t[1] for t in times[name]])
            rows.append([f"{size >> 10} KiB", name, count / put, count * size / put / 2**20,
                         count / get, count * size / get / 2**20])
    await s3.close()
    return rows


def run(quick: bool) -> None:
    port = h.free_port()
    server = Path(sys.executable).with_name("moto_server")
    moto = h.Proc("moto", h.pinned([server, "-H", h.HOST, "-p", str(port)], h.SERVER_CPU))
    with h.running(moto), tempfile.TemporaryDirectory(prefix="bench-buckets-") as folder:
        h.wait_http(port, 30)
        rows = asyncio.run(measure(quick, f"http://{h.HOST}:{port}", Path(folder)))
    print(h.machine())
    print(h.table("Bucket throughput, one client, sequential (medians)",
                  ["object", "backend", "put/s", "put MiB/s", "get/s", "get MiB/s"], rows))


if __name__ == "__main__":
    h.main(run)
