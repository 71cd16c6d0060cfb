"""A fleet of mostly-sleeping devices: each wakes, publishes one reading (QoS 1) and sleeps.

    python examples/iot/simulate.py --devices 1000 --rounds 3 --broker 127.0.0.1:1883
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random

import aiomqtt


async def simulate(host: str, port: int, devices: int, rounds: int, prefix: str) -> int:
    """Publish `rounds` readings per device over one connection; returns messages sent."""
    sent = 0
    async with aiomqtt.Client(host, port, identifier=f"{prefix}-simulator") as client:
        for seq in range(rounds):
            for device in range(devices):
                reading = {"seq": seq, "temperature": round(random.uniform(15, 30), 2)}
                await client.publish(f"devices/{prefix}{device:05d}/telemetry",
                                     json.dumps(reading), qos=1)
                sent += 1
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--broker", default="127.0.0.1:1883")
    parser.add_argument("--prefix", default="dev", help="device id prefix")
    args = parser.parse_args()
    host, _, port = args.broker.partition(":")
    sent = asyncio.run(simulate(host, int(port or 1883), args.devices, args.rounds, args.prefix))
    print(f"published {sent} readings from {args.devices} devices")


if __name__ == "__main__":
    main()
