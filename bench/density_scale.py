"""Issue 4's density figure: K idle warm instances of one function (default 1,000), their
total memory (PSS: shared pages divided fairly), and the warm-hit p99 with them idle beside
it compared with a lone instance.

    sudo .venv/bin/python bench/density_scale.py [--instances 1000]
"""

from __future__ import annotations

import argparse
import json

import _harness as h
from density import HELLO, snapshot, wait_for

GIB = 1 << 20  # in kB


def warm_p99(yun: h.Yun, name: str, requests: int = 300) -> float:
    samples = [h.timed_post(yun.port, f"/fn/{name}", yun.headers())[0] for _ in range(requests)]
    return h.pct(samples, 99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=1000)
    k = parser.parse_args().instances
    h.pin_self(h.CLIENT_CPU)
    with h.Yun() as yun:
        if k + 1 > 2000:  # the default tenant's quotas: 2,000 instances of 128 MiB
            status, body = h.request(
                yun.port, "PATCH", "/v1/tenants/default", headers=yun.headers(),
                body=json.dumps({"quotas": {"concurrent_instances": k + 10,
                                            "memory_mb": (k + 10) * 128}}).encode())
            assert status == 200, body
        yun.deploy(HELLO, name="lone", scale={"min": 1, "max": 1, "keep_alive": "10m"})
        wait_for(yun, "instance (yun-i:)", 1)
        alone = warm_p99(yun, "lone")
        yun.deploy(HELLO, name="idle", scale={"min": k, "max": k, "keep_alive": "10m"})
        groups = wait_for(yun, "instance (yun-i:)", k + 1)
        memory = snapshot(groups)
        crowded = warm_p99(yun, "lone")
    sandbox = {kind: m for kind, m in memory.items() if kind != "yun up" and kind != "other"}
    total_pss = sum(m["pss"] for m in sandbox.values())
    instances = memory["instance (yun-i:)"]
    print(h.table(
        f"{k} idle instances of one function (+1 lone instance), memory from smaps_rollup",
        ["figure", "value", "target"],
        [
            ["instances running", int(instances["n"]), f"≥ {k}"],
            ["PSS per instance, MiB", instances["pss"] / instances["n"] / 1024, "≤ 3"],
            ["PSS of every sandbox process (zygote, blanks, templates, instances), GiB",
             total_pss / GIB, "≤ 4"],
            ["warm-hit p99 of the lone function alone, ms", alone, ""],
            [f"warm-hit p99 with {k} idle instances beside it, ms", crowded, "unchanged"],
        ],
    ))


if __name__ == "__main__":
    main()
