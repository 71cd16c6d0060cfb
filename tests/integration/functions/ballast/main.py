"""Holds 40 MiB from its import on; allocates `mb` more per call (then sleeps `sleep` s)."""

import os
import time

BALLAST = b"x" * (40 << 20)  # written, so charged to the cgroup that imports it


def handle(event, context):
    block = b"y" * (int(event.get("mb", 0)) << 20)
    time.sleep(float(event.get("sleep", 0)))
    return {"pid": os.getpid(), "allocated": len(block) >> 20, "ballast": len(BALLAST) >> 20}
