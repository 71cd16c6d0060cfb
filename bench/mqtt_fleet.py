"""MQTT fleet: N mostly-sleeping devices, each sending one QoS 1 reading per (compressed)
minute, into one function — batched (500 messages or 1 s per invocation) against one
invocation per message, same fleet, same run.

    .venv/bin/python bench/mqtt_fleet.py [--quick]

10,000 devices × 3 minutes, time-compressed 10× (one device minute = 6 s: 1,667 messages/s
for 18 s). The function writes every (device, seq) it handled into a bucket object per
invocation; after the fleet stops, the bench waits up to 60 s for all of them and counts
what arrived (lost = sent − distinct handled), the duplicates, the most instances seen, the
memory (PSS) of `yun up` and its sandboxes at the peak, and the delay from publish to the
handler starting. Target: ≤ 4 instances and nothing lost.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import threading
import time
from pathlib import Path

import _harness as h
import aiomqtt
from density import memory, yun_groups

BROKER = ("127.0.0.1", 1883)
FLEET = h.FUNCTIONS / "fleet"


async def publish_fleet(devices: int, minutes: int, minute_s: float, run: str) -> int:
    """Every device publishes once per compressed minute, at its own offset in the minute."""
    offsets = [random.uniform(0, minute_s) for _ in range(devices)]
    order = sorted(range(devices), key=offsets.__getitem__)
    sent = 0
    async with aiomqtt.Client(*BROKER, identifier=f"fleet-{run}") as client:
        start = time.monotonic()
        for minute in range(minutes):
            for device in order:
                due = start + minute * minute_s + offsets[device]
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = json.dumps({"seq": minute, "sent": time.time()})
                await client.publish(f"fleet/{run}{device:05d}/telemetry", body, qos=1)
                sent += 1
    return sent


class Sampler(threading.Thread):
    """Instances and PSS of yun up's whole tree, sampled every 0.5 s until stopped."""

    def __init__(self, yun: h.Yun) -> None:
        super().__init__(daemon=True)
        self.yun, self.instances, self.pss_mb = yun, 0, 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            self.instances = max(self.instances, self.yun.instance_count("fleet"))
            pids = [p for group in yun_groups(self.yun.proc.pid).values() for p in group]
            pss = sum(memory(p).get("pss", 0) for p in pids) / 1024
            self.pss_mb = max(self.pss_mb, pss)


def handled(yun: h.Yun) -> tuple[list[tuple[str, int]], list[float], int]:
    """(device, seq) of every message handled, publish→start delays (s), invocations."""
    seen: list[tuple[str, int]] = []
    delays: list[float] = []
    token, runs = None, 0
    while True:
        path = "/v1/buckets/fleet/objects?prefix=runs/" + (f"&token={token}" if token else "")
        _, body = h.request(yun.port, "GET", path, headers=yun.headers())
        listing = json.loads(body)
        for entry in listing["objects"]:
            _, raw = h.request(yun.port, "GET", f"/v1/buckets/fleet/objects/{entry['key']}",
                               headers=yun.headers())
            run = json.loads(raw)
            runs += 1
            for device, seq, sent in run["seen"]:
                seen.append((device, seq))
                delays.append(run["started"] - sent)
        token = listing["next_token"]
        if not token:
            return seen, delays, runs


def one_setup(label: str, batch: dict[str, object] | None, devices: int, minutes: int,
              minute_s: float) -> list[object]:
    run = f"r{random.randrange(1 << 30):x}-"
    with h.Yun(cpu=None) as yun:
        h.request(yun.port, "POST", "/v1/buckets", json.dumps({"name": "fleet"}).encode(),
                  headers=yun.headers())
        trigger: dict[str, object] = {"broker": "mqtt://127.0.0.1:1883",
                                      "topic": "fleet/+/telemetry", "qos": 1}
        if batch is not None:
            trigger["batch"] = batch
        yun.deploy(FLEET, triggers=[{"mqtt": trigger}])
        time.sleep(1.0)  # the MQTT session subscribes when the version is deployed
        sampler = Sampler(yun)
        sampler.start()
        started = time.monotonic()
        sent = asyncio.run(publish_fleet(devices, minutes, minute_s, run))
        publish_s = time.monotonic() - started
        deadline = time.monotonic() + 60
        while True:
            seen, delays, invocations = handled(yun)
            distinct = {s for s in seen if s[0].startswith(run)}
            if len(distinct) >= sent or time.monotonic() > deadline:
                break
            time.sleep(2)
        drained_s = time.monotonic() - started
        sampler.stopped.set()
        sampler.join()
    lost = sent - len(distinct)
    return [label, sent, f"{sent / publish_s:,.0f}", invocations, len(seen) - len(distinct),
            lost, sampler.instances, round(sampler.pss_mb), round(h.pct(delays, 50) * 1000),
            round(h.pct(delays, 99) * 1000), round(drained_s, 1),
            h.verdict(lost == 0 and sampler.instances <= 4)]


def run(quick: bool) -> None:
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        print("mosquitto is not installed: nothing measured")
        return
    devices, minutes, minute_s = (1000, 2, 6.0) if quick else (10_000, 3, 6.0)
    rows = [one_setup("batched: 500 msgs or 1 s", {"size": 500, "window": "1s"}, devices,
                      minutes, minute_s),
            one_setup("one invocation per message", None, devices, minutes, minute_s)]
    print(h.table(
        f"MQTT fleet: {devices:,} devices × {minutes} readings (QoS 1), one device minute "
        f"compressed to {minute_s:g} s · {h.machine()}",
        ["setup", "sent", "msgs/s", "invocations", "dupes", "unhandled after +60 s",
         "max instances", "peak PSS MiB", "delay p50 ms", "delay p99 ms", "all handled after s",
         "≤ 4 inst, none lost"], rows))


if __name__ == "__main__":
    h.main(run)
