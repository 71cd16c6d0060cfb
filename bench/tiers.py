"""Cold start per isolation tier: the same `hello` deployed as `sandbox: process` (forked from
a warm zygote's blank) and as `sandbox: runsc` (a gVisor sandbox per instance), interleaved.

Each sample waits until the function has no instance and no template left (keep_alive 1 s),
then times one `POST` from connect to the last byte; `init_ms` comes from the activation
record. Then a warm call of each, for the warm latency inside gVisor.

    sudo .venv/bin/python bench/tiers.py [--quick]
"""

from __future__ import annotations

import json
import shutil

from _harness import FUNCTIONS, Yun, main, median, pct, pin_self, request, table, timed_post


def _pool(yun: Yun, name: str) -> dict[str, object]:
    status, body = request(yun.port, "GET", "/v1/instances", headers=yun.headers())
    assert status == 200, body
    pools = [p for p in json.loads(body)["pools"] if p["function"] == name]
    return pools[0] if pools else {"instances": 0, "template": False}


def run(quick: bool) -> None:
    if shutil.which("runsc") is None:
        print("runsc: not installed (apt-get install runsc); nothing to compare")
        return
    pin_self(1)
    samples = 5 if quick else 20
    tiers = {"process": "tier-process", "runsc": "tier-runsc"}
    with Yun() as yun:
        for tier, name in tiers.items():
            yun.deploy(FUNCTIONS / "hello", name=name, sandbox=tier,
                       scale={"min": 0, "max": 2, "keep_alive": "1s"})
        cold: dict[str, list[float]] = {t: [] for t in tiers}
        init: dict[str, list[float]] = {t: [] for t in tiers}
        warm: dict[str, list[float]] = {t: [] for t in tiers}
        for _ in range(samples):
            for tier, name in tiers.items():
                yun.wait_until(lambda n=name: not _pool(yun, n)["instances"]
                               and not _pool(yun, n)["template"], 60, f"{name} at zero")
                ms, status, activation = timed_post(yun.port, f"/fn/{name}", yun.headers())
                assert status == 200 and activation, status
                cold[tier].append(ms)
                init[tier].append(float(yun.activation(activation)["init_ms"]))
                ms, status, _ = timed_post(yun.port, f"/fn/{name}", yun.headers())
                assert status == 200, status
                warm[tier].append(ms)
    rows = [[tier, len(cold[tier]), median(cold[tier]), pct(cold[tier], 99),
             median(init[tier]), median(warm[tier]), pct(warm[tier], 99)] for tier in tiers]
    print(table(f"Cold start by tier ({samples} samples each, interleaved)",
                ["tier", "n", "cold p50 ms", "cold p99 ms", "init_ms p50",
                 "warm p50 ms", "warm p99 ms"], rows))


if __name__ == "__main__":
    main(run)
