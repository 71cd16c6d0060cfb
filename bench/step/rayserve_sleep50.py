"""Ray Serve peer for bench/step_response.py: a handler waiting 50 ms, scale-to-zero enabled.

Run with bench/.venv-ray's python: `python rayserve_sleep50.py --port 18003`; prints `ready`
when the route answers. Each replica takes 5 requests at once (an async wait), so 10
replicas hold the 50 clients (each asks for 0.1 CPU so that 10 fit); scaling knobs tuned
for speed (no upscale delay, 1 s metrics, 2 s look-back) and a 30 s downscale delay,
matching Yun's 30 s keep-alive.
"""

import argparse
import asyncio
import time

import ray
from ray import serve
from starlette.requests import Request


@serve.deployment(
    # A replica asks for no whole CPU (Serve's default is 1, which on 2 CPUs stops at 2).
    ray_actor_options={"num_cpus": 0.1},
    max_ongoing_requests=5,
    autoscaling_config={
        "min_replicas": 0,
        "max_replicas": 10,
        "initial_replicas": 0,
        "target_ongoing_requests": 5,
        "upscale_delay_s": 0,
        "downscale_delay_s": 30,
        "metrics_interval_s": 1,
        "look_back_period_s": 2,
    },
)
class Sleep50:
    async def __call__(self, request: Request) -> dict:
        await asyncio.sleep(0.05)
        return {"slept_ms": 50}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18003)
    args = ap.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    serve.run(Sleep50.bind(), route_prefix="/")
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
