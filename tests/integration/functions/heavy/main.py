"""A handler whose module burns ~30 ms of CPU at import, like one that loads a big library."""

import os
import time

_deadline = time.process_time() + 0.03
_table = []
while time.process_time() < _deadline:  # work, not sleep: imports burn CPU
    _table.append(sum(range(1000)))


def handle(event, context):
    time.sleep(float(event.get("sleep", 0)))
    return {"pid": os.getpid(), "table": len(_table) > 0}
