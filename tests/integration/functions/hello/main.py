import os
import time


def handle(event, context):
    if event.get("sleep"):
        time.sleep(float(event["sleep"]))
    print("greeting", event.get("name", "world"))
    return {"message": f"{os.environ['GREETING']}, {event.get('name', 'world')}",
            "pid": os.getpid(), "version": context.version}
