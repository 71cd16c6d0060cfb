import time


def handle(event, context):
    # The no-op task of the async benchmark: when it started, for accept → start latency.
    return {"started": time.time()}
