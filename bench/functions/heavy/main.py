"""A handler whose module takes ~50 ms to import, like one that loads a big library."""

import json
import time

_deadline = time.perf_counter() + 0.05
_table = []
while time.perf_counter() < _deadline:  # work, not sleep: imports burn CPU
    _table.append(sum(range(1000)))


def handle(event, context):
    if event.get("hold"):
        time.sleep(float(event["hold"]))
    return {"hello": "world", "n": len(json.dumps(event)), "table": len(_table) > 0}
