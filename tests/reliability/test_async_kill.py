"""SIGKILL `yun up` during a burst of async requests, restart it, and check the ledger.

The client keeps a ledger: every request, and the id of each one answered `202`. Requests
cut off by the kill have no answer (`unknown`): Yun may or may not have stored them. The
side effects are the function's runs, each an activation record `<invocation id>-<attempt>`
written by Yun. Records are group-committed, so a kill can lose the records of runs in its
last ≤ 50 ms, but never the record of a run whose outcome was stored: the dispatcher waits
for the record before it stores the outcome.

The checker asserts:
- every `202` id reaches exactly one terminal state after the restart: succeeded, or dead
  only because kills cut off all of its attempts (`LeaseExpired`: the budget counts runs a
  crash interrupted, which is what bounds the duplicates);
- every run belongs to a `202` id or to one of the unknown requests (no phantoms), and
  there are at most as many such unknown-request invocations as unknown requests;
- every succeeded id has the record of a successful run;
- no id ran more often than its attempt budget (retries + 1 = 3).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from queue_backends import BACKENDS, queue_url
from yun_harness import Yun, free_port

FUNCTION = Path(__file__).resolve().parent / "functions" / "ledger"
BUDGET = 3  # async.retries 2 → at most 3 runs


@dataclass
class Ledger:
    accepted: dict[int, str] = field(default_factory=dict)  # request n → invocation id
    unknown: set[int] = field(default_factory=set)  # no answer: cut off by the kill
    refused: dict[int, int] = field(default_factory=dict)  # a clear non-202 answer
    lock: threading.Lock = field(default_factory=threading.Lock)


def _send(url: str, key: str, n: int, ledger: Ledger) -> None:
    try:
        response = httpx.post(f"{url}/fn/ledger/async", json={"n": n}, timeout=10,
                              headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError:
        with ledger.lock:
            ledger.unknown.add(n)
        return
    with ledger.lock:
        if response.status_code == 202:
            ledger.accepted[n] = response.json()["id"]
        else:
            ledger.refused[n] = response.status_code


def _burst(yun: Yun, first: int, count: int, kill_after: int, ledger: Ledger) -> None:
    """`count` requests from 8 threads; SIGKILL once `kill_after` have been answered."""
    key = yun.key
    killed = threading.Event()

    def one(n: int) -> None:
        if killed.is_set():
            with ledger.lock:
                ledger.unknown.add(n)  # never sent: the server is gone
            return
        _send(yun.url, key, n, ledger)
        with ledger.lock:
            answered = len(ledger.accepted) + len(ledger.refused)
        if answered >= kill_after and not killed.is_set():
            killed.set()
            assert yun.process is not None
            yun.process.send_signal(signal.SIGKILL)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(first, first + count)))
    if yun.process is not None:
        yun.process.wait(10)
        yun.process = None


def _check(yun: Yun, ledger: Ledger, timeout: float) -> None:
    with yun.http() as http:
        deadline = time.monotonic() + timeout
        pending = set(ledger.accepted.values())
        dead: set[str] = set()
        while pending:
            for invocation in list(pending):
                body = http.get(f"/v1/invocations/{invocation}").json()
                if body.get("status") == "dead":
                    assert body["errors"][-1]["type"] == "LeaseExpired", body
                    dead.add(invocation)
                if body.get("status") in ("succeeded", "dead"):
                    pending.discard(invocation)
            assert time.monotonic() < deadline, f"{len(pending)} never finished: {pending}"
            time.sleep(0.2)
        time.sleep(0.3)  # the recorder's last batch
        records = http.get("/v1/activations",
                           params={"function": "ledger", "limit": 1000}).json()["activations"]
    runs = Counter(r["id"].rsplit("-", 1)[0] for r in records if r["status"] == "success")
    known = set(ledger.accepted.values())
    lost = known - set(runs) - dead
    assert not lost, f"{len(lost)} succeeded invocations have no record: {lost}"
    phantoms = set(runs) - known
    assert len(phantoms) <= len(ledger.unknown), phantoms
    assert max(runs.values()) <= BUDGET, runs.most_common(3)


def _kill_and_restart(tmp_path: Path, url: str, rounds: int, per_round: int) -> None:
    yun = Yun(data_dir=tmp_path / "data", port=free_port(), env={"YUN_QUEUE_URL": url})
    yun.start()
    try:
        yun.deploy(FUNCTION)
        ledger = Ledger()
        for r in range(rounds):
            _burst(yun, r * per_round, per_round, kill_after=per_round // 2, ledger=ledger)
            yun.start()
        assert ledger.accepted, "the kill came before any request was accepted"
        _check(yun, ledger, timeout=60 + 10 * rounds)
    finally:
        if yun.process is not None:
            yun.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_during_an_async_burst_loses_no_accepted_invocation(
        tmp_path: Path, backend: str) -> None:
    with queue_url(backend) as url:
        _kill_and_restart(tmp_path, url, rounds=1, per_round=80)


@pytest.mark.soak
@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_sigkills_during_async_bursts_lose_nothing(
        tmp_path: Path, backend: str) -> None:
    with queue_url(backend) as url:
        _kill_and_restart(tmp_path, url, rounds=3, per_round=300)
