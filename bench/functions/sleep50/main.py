"""The step-response handler: 50 ms of waiting, as Ray Serve's peer in bench/step/."""

import time


def handle(event, context):
    time.sleep(0.05)
    return {"slept_ms": 50}
