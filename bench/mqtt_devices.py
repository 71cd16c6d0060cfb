"""MQTT fleet: N simulated devices each sending one QoS 1 message per (compressed) minute to
`devices/<id>/telemetry`; one function aggregates batches. Reports messages lost, batches,
the instances used at most, their memory, and the delay from the last publish to the last
message handled.

    sudo .venv/bin/python bench/mqtt_devices.py [--devices 10000] [--minutes 2] [--compress 6]

Time compression: a minute lasts 60/compress seconds, so the publish rate is
devices * compress / 60 messages per second (10,000 devices, 6x: 1,000 msg/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import aiomqtt
from _harness import FUNCTIONS, Yun, request, table

BROKER = ("127.0.0.1", 1883)
PUBLISHERS = 8  # connections the simulated fleet shares (devices do not need their own here)


async def publish(prefix: str, devices: int, minutes: int, compress: float) -> float:
    """Every device once per minute, spread evenly; returns when the last one was sent."""
    minute = 60.0 / compress
    per_publisher = [range(p, devices, PUBLISHERS) for p in range(PUBLISHERS)]

    async def one(ids: range, offset: int) -> None:
        async with aiomqtt.Client(*BROKER, max_inflight_messages=100) as client:
            for m in range(minutes):
                start = time.monotonic()
                for k, device in enumerate(ids):
                    due = start + minute * k / len(ids)
                    if (wait := due - time.monotonic()) > 0:
                        await asyncio.sleep(wait)
                    n = m * devices + device
                    await client.publish(f"{prefix}/{device}/telemetry",
                                         json.dumps({"n": n, "v": 20.5}), qos=1)
                if (rest := start + minute - time.monotonic()) > 0:
                    await asyncio.sleep(rest)

    await asyncio.gather(*(one(ids, p) for p, ids in enumerate(per_publisher)))
    return time.monotonic()


def seen(yun: Yun) -> tuple[set[int], int]:
    numbers: set[int] = set()
    batches, after = 0, 0
    while True:
        status, body = request(yun.port, "GET", f"/v1/logs?function=iot-agg&after={after}"
                               "&limit=5000", headers=yun.headers())
        assert status == 200, body
        logs = json.loads(body)["logs"]
        for entry in logs:
            if entry["line"].startswith("seen "):
                batches += 1
                numbers.update(int(x) for x in entry["line"].split()[1:])
        if len(logs) < 5000:
            return numbers, batches
        after = logs[-1]["seq"]


def pools(yun: Yun) -> list[dict[str, Any]]:
    status, body = request(yun.port, "GET", "/v1/instances", headers=yun.headers())
    assert status == 200, body
    return [p for p in json.loads(body)["pools"] if str(p.get("function")) == "iot-agg"]


async def measure(yun: Yun, prefix: str, args: argparse.Namespace) -> dict[str, Any]:
    expected = args.devices * args.minutes
    peak_instances, peak_memory = 0, 0.0
    publishing = asyncio.create_task(publish(prefix, args.devices, args.minutes, args.compress))
    last_sent = None
    started = time.monotonic()
    while True:
        for pool in await asyncio.to_thread(pools, yun):
            peak_instances = max(peak_instances, int(pool.get("instances", 0)))
            peak_memory = max(peak_memory, float(pool.get("memory_mb", 0.0)))
        if publishing.done() and last_sent is None:
            last_sent = publishing.result()
        if last_sent is not None:
            numbers, batches = await asyncio.to_thread(seen, yun)
            if len(numbers) >= expected or time.monotonic() - last_sent > 60:
                return {"expected": expected, "lost": expected - len(numbers & set(
                    range(expected))), "batches": batches, "instances": peak_instances,
                    "memory_mb": peak_memory,
                    "drain_s": time.monotonic() - last_sent,
                    "publish_s": last_sent - started}
        await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--compress", type=float, default=6.0)
    parser.add_argument("--quick", action="store_true", help="1,000 devices, one minute")
    args = parser.parse_args()
    if args.quick:
        args.devices, args.minutes = 1000, 1
    prefix = f"bench-{uuid.uuid4().hex[:8]}/devices"
    with Yun(cpu=None) as yun:
        yun.deploy(FUNCTIONS / "iot_agg", triggers=[{"mqtt": {
            "broker": "mqtt://127.0.0.1:1883", "topic": f"{prefix}/+/telemetry", "qos": 1,
            "batch": {"size": 100, "window": "500ms"}}}])
        time.sleep(1.0)  # subscribed
        result = asyncio.run(measure(yun, prefix, args))
    rate = args.devices * args.compress / 60
    title = f"MQTT fleet: {args.minutes} min at {args.compress:g}x, QoS 1, batches of 100 / 500 ms"
    print(table(title, ["devices", "msg/s", "messages", "lost", "batches", "max instances",
                 "instance MiB (max)", "drain after last publish"],
                [[str(args.devices), f"{rate:.0f}", str(result["expected"]), str(result["lost"]),
                  str(result["batches"]), str(result["instances"]),
                  f"{result['memory_mb']:.0f}", f"{result['drain_s']:.1f} s"]]))


if __name__ == "__main__":
    main()
