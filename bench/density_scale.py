"""Issue 4's density figure: K idle warm instances of one function (default 1,000), their
total memory (PSS: shared pages divided fairly), and the warm-hit p99 with them idle beside
it compared with a lone instance.

    sudo .venv/bin/python bench/density_scale.py [--instances 1000] [--rounds 5]

The warm-hit p99 is measured in rounds of 300 calls, in three phases: alone, with the K idle
instances beside it (after the memory sweep, once the machine has settled), and alone again
after the K are removed. The table gives each phase's median p99 over its rounds, so that a
slow moment of the machine moves one round, not the figure.
"""

from __future__ import annotations

import argparse
import json
import time

import _harness as h
from density import HELLO, snapshot, wait_for, yun_groups

GIB = 1 << 20  # in kB


def warm_p99(yun: h.Yun, name: str, requests: int = 300) -> float:
    samples = [h.timed_post(yun.port, f"/fn/{name}", yun.headers())[0] for _ in range(requests)]
    return h.pct(samples, 99)


def phase(yun: h.Yun, rounds: int) -> list[float]:
    """p99 of each round, with a short pause between rounds."""
    p99s = []
    for _ in range(rounds):
        p99s.append(warm_p99(yun, "lone"))
        time.sleep(0.5)
    return p99s


def settle(seconds: float = 5.0) -> None:
    """Wait for the load average's short-term view of the machine to calm after the starts."""
    time.sleep(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    k, rounds = args.instances, args.rounds
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
        settle()
        alone = phase(yun, rounds)
        yun.deploy(HELLO, name="idle", scale={"min": k, "max": k, "keep_alive": "10m"})
        groups = wait_for(yun, "instance (yun-i:)", k + 1)
        memory = snapshot(groups)
        settle()
        crowded = phase(yun, rounds)
        status, body = h.request(yun.port, "DELETE", "/v1/functions/idle", headers=yun.headers())
        assert status in (200, 204), body
        wait_gone(yun, "instance (yun-i:)", 1)
        settle()
        after = phase(yun, rounds)
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
            ["warm-hit p99 of the lone function alone, ms (median of rounds)",
             h.median(alone), ""],
            [f"warm-hit p99 with {k} idle instances beside it, ms (median of rounds)",
             h.median(crowded), "unchanged"],
            ["warm-hit p99 alone again after they are removed, ms (median of rounds)",
             h.median(after), ""],
            ["with ÷ alone (both alone phases)", h.median(crowded) / h.median(alone + after),
             "≈ 1"],
        ],
    ))
    print("p99 per round, ms: alone", fmt(alone), "· with", fmt(crowded), "· after", fmt(after))


def fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def wait_gone(yun: h.Yun, kind: str, count: int) -> None:
    deadline = time.monotonic() + 180
    while len(yun_groups(yun.proc.pid).get(kind, [])) > count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the {kind} processes did not go away")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
