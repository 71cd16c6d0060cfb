import asyncio
import os


async def handle(event, context):
    await asyncio.sleep(float(event.get("sleep", 0)))
    print("async done", event.get("n"))
    return {"n": event.get("n"), "pid": os.getpid()}
