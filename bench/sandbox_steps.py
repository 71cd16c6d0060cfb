"""One fresh sandbox start, step by step: what each namespace, cgroup write, mount, pivot_root,
seccomp load, import and fork costs — alone, and with `--parallel K` sandboxes starting at once
(as in a burst of distinct functions). Needs root.

    sudo .venv/bin/python bench/sandbox_steps.py [--samples 20] [--parallel 1 10 50]

The steps are the ones `yun.runtime.template.start` and `yun.sandbox.ProcessSandbox` take, run
from this (preloaded) process the way the zygote forks; each child reports wall time per step
(ms) through a pipe. Agent-side steps (cgroup create, limits) run in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _harness import FUNCTIONS, pct, table

from yun.runtime import _linux, _privileges, _rootfs, template
from yun.sandbox._cgroups import CgroupTree, Limits

_NS = (("mnt", _linux.CLONE_NEWNS), ("uts", _linux.CLONE_NEWUTS), ("ipc", _linux.CLONE_NEWIPC),
       ("pid", _linux.CLONE_NEWPID), ("net", _linux.CLONE_NEWNET))


def _child(out: int, fds: list[int], code: str, go: int) -> None:
    """Runs in the forked child: the template's start, timed step by step."""
    steps: dict[str, float] = {}
    os.read(go, 1)  # every child of a parallel round starts at the same moment
    last, last_cpu = time.perf_counter(), time.process_time()

    def mark(name: str) -> None:
        # Wall time shows waiting (locks, the scheduler); CPU time (this process only, not
        # its children) is what the step costs the machine.
        nonlocal last, last_cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        steps[name] = steps.get(name, 0.0) + (now - last) * 1000
        steps[f"cpu:{name}"] = steps.get(f"cpu:{name}", 0.0) + (now_cpu - last_cpu) * 1000
        last, last_cpu = now, now_cpu

    os.setsid()
    template._join_cgroups(fds)
    mark("join cgroups (3 writes)")
    for name, flag in _NS:
        _linux.unshare(flag)
        mark(f"unshare {name}")
    reader, writer = os.pipe()
    pid = os.fork()  # pid 1 of the new namespace reports through the pipe, we wait for it
    if pid != 0:
        os.close(writer)
        data = os.read(reader, 65536)
        os.waitpid(pid, 0)
        os.write(out, data)
        os._exit(0)
    os.close(reader)
    mark("fork into pid ns")
    _linux.set_process_name("yun-steps")
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    mark("mount / private")
    _linux.loopback_up()
    mark("loopback up")
    _rootfs.prepare()
    mark("rootfs prepare (tmpfs, binds, /proc, /dev)")
    _linux.sethostname("steps")
    _rootfs.enter(code, None, "steps", 100000, 100000, egress=False)
    mark("bind code, /etc, pivot_root, ro")
    _privileges.limit_resources()
    _privileges.close_other_fds(keep=[writer])
    mark("rlimits, close fds")
    _privileges._drop_privileges(100000, 100000)
    mark("caps, uid, no_new_privs")
    from yun.runtime import _seccomp
    _seccomp.install()
    mark("seccomp load")
    spec = template.SpawnTemplate(key="k", code_dir=code, layer_dir=None, handler="main:handle",
                                  env={}, network="none", hostname="steps", concurrency=1,
                                  namespaces=True)
    template._environment(spec)
    template._load_handler(spec)
    mark("import handler")
    child = os.fork()
    if child == 0:
        os._exit(0)
    mark("fork instance")
    os.waitpid(child, 0)
    os.write(writer, json.dumps(steps).encode())
    os._exit(0)


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _idle_seconds() -> float:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")  # idle + iowait


def _round(tree: CgroupTree, code: str, k: int) -> list[dict[str, float]]:
    """K sandboxes started at once; per sandbox, the ms of each step (agent side included)."""
    go_r, go_w = os.pipe()
    started = []
    for i in range(k):
        agent: dict[str, float] = {}
        t0 = time.perf_counter()
        group = tree.create(f"steps.{os.getpid()}.{i}.{os.urandom(2).hex()}",
                            Limits(memory_mb=128))
        t1 = time.perf_counter()
        fds = group.procs_fds()
        t2 = time.perf_counter()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.close(go_w)
            try:
                _child(w, fds, code, go_r)
            finally:
                os._exit(1)
        t3 = time.perf_counter()
        os.close(w)
        for fd in fds:
            os.close(fd)
        agent["agent: cgroup mkdir ×3 + limits"] = (t1 - t0) * 1000
        agent["agent: open cgroup.procs ×3"] = (t2 - t1) * 1000
        agent["agent: fork from preloaded process"] = (t3 - t2) * 1000
        started.append((pid, r, group, agent))
    t_go = time.perf_counter()
    cpu_go, idle_go = _children_cpu(), _idle_seconds()
    os.write(go_w, b"x" * k)
    results = []
    for pid, r, _group, agent in started:
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        steps = json.loads(data) if data else {"failed": 1.0}
        steps.update(agent)
        steps["(round wall, from go)"] = (time.perf_counter() - t_go) * 1000
        results.append(steps)
    cpu = (_children_cpu() - cpu_go) * 1000 / k
    idle = (_idle_seconds() - idle_go) * 1000
    for steps in results:
        steps["(CPU per sandbox, all its processes)"] = cpu
        steps["(machine idle during the round, ms)"] = idle
    for _pid, _r, group, _agent in started:
        group.kill()
        for _ in range(200):
            if group.remove():
                break
            time.sleep(0.005)
    os.close(go_r)
    os.close(go_w)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--parallel", type=int, nargs="*", default=[1, 10, 50])
    args = parser.parse_args()
    os.makedirs(_rootfs.STAGING, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="yun-steps-"))
    code = work / "code"
    shutil.copytree(FUNCTIONS / "hello", code)
    os.chmod(work, 0o755)
    tree = CgroupTree()
    try:
        for k in args.parallel:
            rounds = max(1, args.samples // k)
            samples: list[dict[str, float]] = []
            for _ in range(rounds):
                time.sleep(0.5)  # let the kernel tear down the last round's namespaces
                samples += _round(tree, str(code), k)
            names = [n for n in dict.fromkeys(n for s in samples for n in s)
                     if not n.startswith("cpu:")]

            def stat(name: str, q: float, samples: list[dict[str, float]] = samples) -> float:
                return pct([s.get(name, 0.0) for s in samples], q)

            rows = [[n, stat(n, 50), stat(n, 99),
                     stat(f"cpu:{n}", 50) if f"cpu:{n}" in samples[0] else ""] for n in names]
            print(table(f"One fresh sandbox, {k} at once ({len(samples)} sandboxes, "
                        f"load {os.getloadavg()[0]:.2f})",
                        ["step", "wall p50 ms", "wall p99 ms", "CPU p50 ms"], rows))
            sys.stdout.flush()
    finally:
        tree.remove_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
