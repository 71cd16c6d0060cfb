import os
import sys
import threading
import time


def handle(event, context):
    if "exit" in event:
        sys.exit(event["exit"])
    time.sleep(float(event.get("sleep", 0)))
    print("served by", threading.current_thread().name, "for", context.request_id)
    return {"pid": os.getpid(), "request_id": context.request_id}
