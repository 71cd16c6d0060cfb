"""The Celery peer of `async_queue.py`, run with bench/.venv-celery's Python (never Yun's).

`worker`: a Celery worker on Redis with the no-op task. `client N SPACING`: sends N tasks
(a burst when SPACING is 0) and prints JSON: the seconds until all finished, and per task the
submit → start latency (start time the task returns minus the time `delay()` was called).
"""

from __future__ import annotations

import json
import os
import sys
import time

from celery import Celery

app = Celery("yunbench", broker=os.environ["BROKER"], backend=os.environ["BROKER"])
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=4, result_expires=600,
                broker_connection_retry_on_startup=True)


@app.task(name="noop")
def noop() -> float:
    return time.time()


def client(count: int, spacing: float) -> None:
    started = time.time()
    sent = []
    for _ in range(count):
        submitted = time.time()
        sent.append((noop.delay(), submitted))
        if spacing:
            time.sleep(spacing)
    latencies = [result.get(timeout=120) - submitted for result, submitted in sent]
    print(json.dumps({"seconds": time.time() - started, "latencies": latencies}))


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        app.worker_main(["worker", "--loglevel=INFO", "--concurrency=4", "--pool=prefork",
                         "--without-gossip", "--without-mingle", "--without-heartbeat"])
    else:
        client(int(sys.argv[2]), float(sys.argv[3]))
