"""What each sandbox wall costs at cold start, every variant measured in the same run.

One `yun up` per variant, all running at once, each leaving out one wall (`YUN_WALLS_OFF`),
plus one with every wall and one with none (`YUN_NAMESPACES=false`: no namespaces, no root,
no privilege drop, no seccomp; cgroups stay). Each sample is the first request to a function
never invoked before (so a template is made, from a pre-started blank where there is one),
timed from connect to the last byte; `init_ms` comes from the activation record. Variants are
interleaved sample by sample, so load from elsewhere on the machine falls on all of them alike.

    sudo .venv/bin/python bench/hardening.py [--quick]
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

import _harness as h

HELLO = (h.FUNCTIONS / "hello" / "main.py").read_text()
SETTLE = 0.3  # s between samples: the agent refills its blanks (and spare network namespace)


@dataclass
class Variant:
    label: str
    env: dict[str, str]
    network: str = "none"
    client_ms: list[float] = field(default_factory=list)
    init_ms: list[float] = field(default_factory=list)


VARIANTS = [
    Variant("every wall (network: none)", {}),
    Variant("every wall, network: egress (veth + NAT)", {}, network="egress"),
    Variant("without pivot_root (host root fs)", {"YUN_WALLS_OFF": "pivot_root"}),
    Variant("without seccomp", {"YUN_WALLS_OFF": "seccomp"}),
    Variant("without uid change / caps drop / no_new_privs", {"YUN_WALLS_OFF": "privileges"}),
    Variant("without a network namespace", {"YUN_WALLS_OFF": "netns"}),
    Variant("no walls (YUN_NAMESPACES=false; cgroups only)", {"YUN_NAMESPACES": "false"}),
]


def bundle(name: str, network: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", HELLO)
        archive.writestr("yun.yaml", f"name: {name}\nhandler: main:handle\nmemory: 128\n"
                                     f"network: {network}\n"
                                     "scale: {min: 0, max: 1, keep_alive: 1s}\n")
    return buffer.getvalue()


def deploy(yun: h.Yun, name: str, network: str) -> None:
    headers = {**yun.headers(), "Content-Type": "application/zip"}
    status, body = h.request(yun.port, "POST", "/v1/functions", bundle(name, network), headers)
    if status not in (200, 201):
        raise RuntimeError(f"deploying {name}: HTTP {status} {body[:300]!r}")


def cold_start(yun: h.Yun, name: str) -> tuple[float, dict[str, Any]]:
    ms, status, activation = h.timed_post(yun.port, f"/fn/{name}", yun.headers())
    if status != 200 or activation is None:
        raise RuntimeError(f"POST /fn/{name} answered {status}")
    return ms, yun.activation(activation)


def run(quick: bool) -> None:
    rounds, per_round = (2, 3) if quick else (4, 6)
    samples = rounds * per_round
    print(f"# cold start per sandbox wall · {h.machine()}", flush=True)
    # One `yun up` per variant, so no variant's cold start overlaps another's blank refill.
    servers: list[h.Yun] = []
    try:
        for variant in VARIANTS:
            servers.append(yun := h.Yun(env=variant.env).__enter__())
            if "pivot_root" in variant.env.get("YUN_WALLS_OFF", ""):
                # Without its own root the function reads its code at the host path, as the
                # tenant's uid: the data dir's parents must let that uid through.
                for folder in (yun.dir, yun.data):
                    os.chmod(folder, 0o755)
        for yun, variant in zip(servers, VARIANTS, strict=True):
            for n in range(samples + 1):  # +1: a warm-up (the egress firewall is made once)
                deploy(yun, f"c-{n}", variant.network)
            cold_start(yun, f"c-{samples}")
        time.sleep(SETTLE)
        for r in range(rounds):
            for s in range(per_round):
                n = r * per_round + s
                for yun, variant in zip(servers, VARIANTS, strict=True):
                    ms, record = cold_start(yun, f"c-{n}")
                    variant.client_ms.append(ms)
                    variant.init_ms.append(float(record["init_ms"]))
                time.sleep(SETTLE)
            print(f"  round {r + 1}/{rounds}: "
                  + ", ".join(f"{h.median(v.client_ms[-per_round:]):.1f}" for v in VARIANTS),
                  flush=True)
    finally:
        for yun in servers:
            yun.close()
    print(report(rounds, per_round))
    print(f"(load average at the end: {h.load()})")


def report(rounds: int, per_round: int) -> str:
    base = VARIANTS[0]
    rows = [[v.label, len(v.client_ms), h.median(v.client_ms), h.pct(v.client_ms, 99),
             h.median(v.init_ms), h.pct(v.init_ms, 99),
             f"{h.median(v.client_ms) - h.median(base.client_ms):+.2f}"] for v in VARIANTS]
    return h.table(
        f"Cold start by sandbox wall, ms ({rounds} rounds × {per_round}, variants interleaved "
        "sample by sample; init = sandbox + import + instance fork, from the record)",
        ["variant", "n", "p50", "p99", "init p50", "init p99", "p50 − every wall"], rows)


if __name__ == "__main__":
    h.main(run)
