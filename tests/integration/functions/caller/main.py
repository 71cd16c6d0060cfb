"""Calls other functions of its tenant through host calls, in the ways the tests need."""

import threading
import time


def handle(event, context):
    action = event.get("action")
    if action == "call":
        return {"got": context.invoke(event["target"], event.get("event"))}
    if action == "recurse":
        # Calls itself until the platform stops the chain; reports the depth reached.
        try:
            inner = context.invoke("caller", {"action": "recurse", "depth": event["depth"] + 1})
        except Exception as exc:
            return {"depth": event["depth"], "stopped": f"{type(exc).__name__}: {exc}"}
        return inner
    if action == "async_recurse":
        # Queues itself again until the platform refuses the next hop.
        try:
            return {"queued": context.invoke_async("caller", {"action": "async_recurse"})}
        except Exception as exc:
            return {"depth": context.depth, "stopped": f"{type(exc).__name__}: {exc}"}
    if action == "after_return":
        # A thread that outlives its invocation must not act for it.
        outcome = {}

        def late():
            time.sleep(0.3)
            try:
                context.invoke("hello", {})
                outcome["late"] = "answered"
            except Exception as exc:
                outcome["late"] = str(exc)

        threading.Thread(target=late).start()
        return {"started": True}
    if action == "unknown_op":
        from yun.runtime._context import _require_host
        try:
            _require_host().call(context.request_id, "no.such.op", {})
        except Exception as exc:
            return {"error": str(exc)}
    return {"echo": event}
