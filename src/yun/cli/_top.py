"""`yun top`: a live view of functions, instances, in-flight requests, cold starts, memory."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from yun.cli import _session
from yun.cli._console import out


def top(
    ctx: typer.Context,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Print one table and exit.")] = False,
) -> None:
    """Watch instances, load and memory per function version (Ctrl-C to quit)."""
    with _session.client(ctx) as client:
        if once:
            out().print(_table(client.instances(), None, interval, client.queued()))
            return
        previous: list[dict[str, Any]] | None = None
        try:
            with Live(console=out(), auto_refresh=False) as live:
                while True:
                    pools = client.instances()
                    live.update(_table(pools, previous, interval, client.queued()),
                                refresh=True)
                    previous = pools
                    time.sleep(interval)
        except KeyboardInterrupt:
            return


def _table(pools: list[dict[str, Any]], previous: list[dict[str, Any]] | None,
           interval: float, queued: dict[str, int] | None = None) -> Table:
    """`queued`: async jobs per target (NAME[:QUALIFIER]), shown once per function."""
    before = {(p["function"], p["version"]): p for p in previous or []}
    backlog: dict[str, int] = {}
    for target, count in (queued or {}).items():
        name = target.partition(":")[0]
        backlog[name] = backlog.get(name, 0) + count
    table = Table("function", "version", "instances", "desired", "starting", "in-flight",
                  "waiting", "queued", "req/s", "cold starts", "memory MiB", title="yun top",
                  box=None)
    for pool in pools:
        old = before.get((pool["function"], pool["version"]))
        rate = (pool["served"] - old["served"]) / interval if old else 0.0
        desired = str(pool["desired"]) + (" panic" if pool["mode"] == "panic" else "")
        table.add_row(pool["function"], str(pool["version"]), str(pool["instances"]), desired,
                      str(pool["starting"]), str(pool["inflight"]), str(pool["waiting"]),
                      str(backlog.pop(pool["function"], 0)), f"{rate:.0f}",
                      str(pool["cold_starts"]), f"{pool['memory_mb']:.1f}")
    for name, count in sorted(backlog.items()):  # queued, with no instance yet
        table.add_row(name, "-", "0", "0", "0", "0", "0", str(count), "0", "0", "0.0")
    if not pools and not backlog:
        table.caption = "no instances: every function is at zero"
    return table
