"""Fold a batch of device readings into one summary object per device.

Each MQTT message is `{"seq": N, "temperature": T}` on `devices/<id>/telemetry`; a batch
event carries up to 500 of them. The summary `devices/<id>.json` in the `telemetry` bucket
keeps the count, min/max/mean temperature and the sequence numbers seen (so a message the
broker delivers twice is counted once)."""

import json

from yun.runtime import NotFound

BUCKET = "telemetry"


def handle(event, context):
    readings = {}
    for message in event["data"]["messages"]:
        readings.setdefault(message["device"], []).append(message["payload"])
    for device, batch in readings.items():
        key = f"devices/{device}.json"
        try:
            summary = json.loads(context.buckets.get(BUCKET, key))
        except NotFound:
            summary = {"device": device, "count": 0, "sum": 0.0, "min": None, "max": None,
                       "seen": []}
        seen = set(summary["seen"])
        for reading in batch:
            if reading["seq"] in seen:
                continue
            seen.add(reading["seq"])
            value = reading["temperature"]
            summary["count"] += 1
            summary["sum"] += value
            summary["min"] = value if summary["min"] is None else min(summary["min"], value)
            summary["max"] = value if summary["max"] is None else max(summary["max"], value)
        summary["seen"] = sorted(seen)
        summary["mean"] = summary["sum"] / summary["count"]
        context.buckets.put(BUCKET, key, json.dumps(summary), content_type="application/json")
    return {"devices": len(readings), "messages": sum(map(len, readings.values()))}
