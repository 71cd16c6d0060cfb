"""An async handler using host calls: directly (refused: it would block the loop) and
through a thread (the documented way)."""

import asyncio


async def handle(event, context):
    try:
        context.invoke("hello", {"name": "direct"})
        direct = "answered"
    except Exception as exc:
        direct = f"{type(exc).__name__}: {exc}"
    threaded = await asyncio.to_thread(context.invoke, "hello", {"name": "thread"})
    return {"direct": direct, "threaded": threaded["message"]}
