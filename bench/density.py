"""Idle density: memory per idle warm instance (PSS from /proc/PID/smaps_rollup).

Yun, two layouts: (1) one function with `scale.min: K` — K instances forked from one template;
(2) M distinct functions with `scale.min: 1` — each its own template and instance. Processes
are found among the descendants of `yun up` by name: `yun-i:` instances, `yun-t:` templates,
`yun-zygote`, anything else named `yun-…`. Peers: K bare interpreters idling
(`python -c 'import time; time.sleep(…)'`) and one uvicorn worker serving the floor app.
PSS splits each shared page among the processes mapping it, so per-process PSS is the fair
share; USS (private pages) is what one more such process adds. Three snapshots, 1 s apart:
medians.

    .venv/bin/python bench/density.py [--quick]
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import _harness as h

HELLO = h.FUNCTIONS / "hello"


def memory(pid: int) -> dict[str, int]:
    """Pss, Rss and USS (Private_Clean + Private_Dirty) in kB, or {} if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0])
    return {"pss": values["Pss"], "rss": values["Rss"],
            "uss": values["Private_Clean"] + values["Private_Dirty"]}


def processes() -> dict[int, tuple[int, str]]:
    """pid → (ppid, comm) for every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            found[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), comm)
    return found


def yun_groups(root: int) -> dict[str, list[int]]:
    """The descendants of `yun up`, grouped by kind."""
    procs = processes()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in procs.items():
        children[ppid].append(pid)
    groups: dict[str, list[int]] = defaultdict(list)
    stack = [root]
    while stack:
        pid = stack.pop()
        stack += children[pid]
        comm = procs.get(pid, (0, ""))[1]
        kind = ("instance (yun-i:)" if comm.startswith("yun-i:") else
                "template (yun-t:)" if comm.startswith("yun-t:") else
                comm if comm.startswith("yun-") else "yun up" if pid == root else "other")
        groups[kind].append(pid)
    return groups


def snapshot(groups: dict[str, list[int]], snapshots: int = 3) -> dict[str, dict[str, float]]:
    """Per group: process count, and median over snapshots of the summed pss/rss/uss (kB)."""
    sums: dict[str, list[dict[str, int]]] = defaultdict(list)
    for i in range(snapshots):
        if i:
            time.sleep(1)
        for kind, pids in groups.items():
            total: dict[str, int] = defaultdict(int)
            for pid in pids:
                for key, kb in memory(pid).items():
                    total[key] += kb
            sums[kind].append(total)
    return {kind: {"n": len(groups[kind]),
                   **{key: h.median([s[key] for s in runs]) for key in ("pss", "rss", "uss")}}
            for kind, runs in sums.items()}


def wait_for(yun: h.Yun, kind: str, count: int) -> dict[str, list[int]]:
    deadline = time.monotonic() + 180
    while True:
        groups = yun_groups(yun.proc.pid)
        if len(groups.get(kind, [])) >= count:
            time.sleep(2)  # let start-up allocations settle
            return yun_groups(yun.proc.pid)
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(groups.get(kind, []))} of {count} {kind} started")
        time.sleep(0.2)


def run(quick: bool) -> None:
    k, m = (10, 5) if quick else (50, 20)
    print(f"# idle density · {h.machine()}", flush=True)
    results: list[tuple[str, dict[str, dict[str, float]]]] = []
    with h.Yun() as yun:
        yun.deploy(HELLO, name="idle", scale={"min": k, "max": k, "keep_alive": "10m"})
        results.append((f"Yun, 1 function × scale.min {k}",
                        snapshot(wait_for(yun, "instance (yun-i:)", k))))
    with h.Yun() as yun:
        for i in range(m):
            yun.deploy(HELLO, name=f"idle-{i}", scale={"min": 1, "max": 1, "keep_alive": "10m"})
        results.append((f"Yun, {m} functions × scale.min 1",
                        snapshot(wait_for(yun, "instance (yun-i:)", m))))
    sleeper = [str(h.VENV / "python"), "-c", "import time; time.sleep(600)"]
    bare = [h.Proc(f"bare-{i}", sleeper) for i in range(k)]
    try:
        time.sleep(2)
        results.append((f"{k} bare interpreters (peer)",
                        snapshot({"python -c 'time.sleep()'": [p.pid for p in bare]})))
    finally:
        for p in bare:
            p.stop(grace=5)
    port = h.free_port()
    with h.running(h.floor_server(port)) as floor:
        h.request(port, "POST", "/", h.BODY)
        results.append(("uvicorn worker, floor app (peer)",
                        snapshot({"uvicorn (uvloop, httptools)": [floor.pid]})))
    print(report(results))
    print(f"(load average at the end: {h.load()})")


def report(results: list[tuple[str, dict[str, dict[str, float]]]]) -> str:
    rows: list[list[object]] = []
    for setup, groups in results:
        for kind, g in sorted(groups.items(), key=lambda kv: -kv[1]["n"]):
            n = g["n"]
            rows.append([setup, kind, int(n), g["pss"] / n / 1024, g["uss"] / n / 1024,
                         g["rss"] / n / 1024, g["pss"] / 1024])
    out = h.table("Idle memory, MiB per process (medians of 3 snapshots)",
                  ["setup", "processes", "n", "PSS each", "USS each", "RSS each", "PSS total"],
                  rows)
    per_instance = results[0][1]["instance (yun-i:)"]
    pss = per_instance["pss"] / per_instance["n"] / 1024
    bare = next(iter(results[2][1].values()))
    bare_pss = bare["pss"] / bare["n"] / 1024
    funcs = results[1][1]
    fn_n = funcs["instance (yun-i:)"]["n"]
    per_function = (funcs["instance (yun-i:)"]["pss"] + funcs["template (yun-t:)"]["pss"]) \
        / fn_n / 1024
    out += "\n" + h.table(
        "Idle density against the target", ["figure", "MiB", "target", ""],
        [["PSS per idle instance (1 function × min K)", pss, "≤ 3", h.verdict(pss <= 3)],
         ["PSS per idle instance ÷ PSS per bare interpreter", f"{pss / bare_pss:.2f}×", "", ""],
         ["PSS per idle function (template + instance, M functions × min 1)", per_function,
          "", ""]])
    return out


if __name__ == "__main__":
    h.main(run)
