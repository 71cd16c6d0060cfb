"""One function that misbehaves on request, to check every way an invocation can end."""

import os
import sys
import time


class Oops(Exception):
    pass


def handle(event, context):
    what = event.get("do")
    if what == "raise":
        raise Oops("it went wrong on purpose")
    if what == "sleep":
        time.sleep(float(event.get("seconds", 5)))
    if what == "hog":
        hog = []
        while True:
            hog.append(bytearray(8 << 20))
    if what == "exit":
        sys.stdout.flush()
        os._exit(3)
    if what == "status":
        return {"statusCode": 201, "headers": {"X-Custom": "yes"}, "body": "made"}
    if what == "connect":
        import socket

        try:
            socket.create_connection(("127.0.0.1", int(event["port"])), timeout=1).close()
        except OSError as exc:
            return {"connected": False, "error": str(exc)}
        return {"connected": True}
    if what == "respond":
        return {"statusCode": event["status"], "body": event.get("body", "")}
    if what == "surrogate":  # a str msgspec cannot encode
        return {"statusCode": 200, "headers": {"x-s": "\ud800"}, "body": "x"}
    if what == "bad header":
        return {"statusCode": 200, "headers": {event["name"]: event["value"]}, "body": "x"}
    if what == "unserialisable":
        return {"a": object()}
    return {"ok": True, "remaining": context.get_remaining_time_in_millis()}
