"""Node-wide kernel settings the process tier makes at start (it runs as root).

The host's DAMON memory monitor (`kdamond.*` kernel threads, used on VMs for free-page
reporting) samples physical pages and walks every mapping of each: a page of a warm
template is mapped by each of its instances, so with 1,000 idle instances kdamond took 17 %
of a core (0.4 % without them) in long stretches that delayed requests on the same core (a
warm hit's p99 3.3× its value without them; `bench/README.md`, "1,000 idle instances").
At SCHED_IDLE it runs only on time nothing else wants (the p99 ratio was 0.94–1.13).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("yun.sandbox")

MONITOR_THREADS = ("kdamond",)


def idle_memory_monitor() -> list[int]:
    """Put the memory monitor's kernel threads at SCHED_IDLE; returns their pids."""
    calmed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        if not name.startswith(MONITOR_THREADS):
            continue
        pid = int(entry)
        try:
            if os.sched_getscheduler(pid) != os.SCHED_IDLE:
                os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
                log.info("the memory monitor %s (pid %d) now runs at idle priority", name, pid)
            calmed.append(pid)
        except OSError as exc:
            log.warning("could not lower the priority of %s (pid %d): %s", name, pid, exc)
    return calmed
