"""Prints the ASL conformance pass rate at the end of the session; runs moto's S3 server for
the bucket suite."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "test_case_matches_aws[" not in report.nodeid or report.nodeid.endswith("[no-cases]"):
        return
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    if "XPASS(strict)" in str(report.longrepr):
        outcome = "xpassed"  # listed as a known failure, but it matches AWS now
    elif hasattr(report, "wasxfail"):
        outcome = "xfailed"
    else:
        outcome = report.outcome
    _OUTCOMES[report.nodeid] = outcome


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _OUTCOMES:
        return
    counts = {kind: 0 for kind in ("passed", "xpassed", "xfailed", "failed", "skipped")}
    for outcome in _OUTCOMES.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    total = len(_OUTCOMES)
    matching = counts["passed"] + counts["xpassed"]
    terminalreporter.write_sep("-", "ASL conformance (shared/conformance/asl)")
    terminalreporter.write_line(
        f"{matching}/{total} cases match AWS ({100.0 * matching / total:.1f} %); "
        f"{counts['xfailed']} known failures (docs/flows.md), {counts['failed']} unexpected "
        f"failures, {counts['xpassed']} known failures that now pass"
    )


# --- moto's standalone S3 server, the S3-compatible peer of the bucket tests -------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """`moto_server` on a free port for the whole session; killed at the end."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on port {port}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
