"""Cold start of a function with a 50 ms import: the first instance (sandbox + import + fork)
against a second instance of the same warm function (one fork of the template, no import).

    sudo .venv/bin/python bench/heavy_import.py [--rounds N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json

from _harness import FUNCTIONS, Yun, median, pct, pin_self, request, table, timed_post

CLIENT_CPU = 1


def _pool(yun: Yun, name: str) -> dict[str, object]:
    status, body = request(yun.port, "GET", "/v1/instances", headers=yun.headers())
    assert status == 200, body
    pools = [p for p in json.loads(body)["pools"] if p["function"] == name]
    return pools[0] if pools else {"instances": 0, "template": False, "inflight": 0}


def _one_round(yun: Yun, name: str) -> tuple[float, float, float, float]:
    """(first client ms, first init ms, second client ms, second init ms)."""
    # At zero means no instance and no template: the next request pays sandbox + import.
    yun.wait_until(lambda: not _pool(yun, name)["instances"] and not _pool(yun, name)["template"],
                   30, f"{name} back at zero")
    first_ms, status, first_id = timed_post(yun.port, f"/fn/{name}", yun.headers())
    assert status == 200 and first_id, status
    # Hold the only instance busy, so the next request needs a second one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        holding = pool.submit(_post_json, yun, name, {"hold": 0.5})
        yun.wait_until(lambda: int(str(_pool(yun, name)["inflight"])) >= 1, 5,
                       "first instance busy")
        second_ms, status, second_id = timed_post(yun.port, f"/fn/{name}", yun.headers())
        assert status == 200 and second_id, status
        holding.result()
    first = yun.activation(first_id)
    second = yun.activation(second_id)
    return first_ms, float(first["init_ms"]), second_ms, float(second["init_ms"])


def _post_json(yun: Yun, name: str, body: dict[str, object]) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", yun.port, timeout=30)
    try:
        conn.request("POST", f"/fn/{name}", body=json.dumps(body), headers=yun.headers())
        return conn.getresponse().status
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    pin_self(CLIENT_CPU)
    rows: list[tuple[float, float, float, float]] = []
    with Yun() as yun:
        name = yun.deploy(FUNCTIONS / "heavy")
        for _ in range(args.rounds):
            rows.append(_one_round(yun, name))
    first_client = [r[0] for r in rows]
    first_init = [r[1] for r in rows]
    second_client = [r[2] for r in rows]
    second_init = [r[3] for r in rows]
    print(table(
        f"Heavy import (50 ms of CPU at import), {len(rows)} rounds, ms",
        ["instance", "client p50", "client p99", "init_ms p50", "init_ms p99"],
        [
            ["first (sandbox + import + fork)", median(first_client), pct(first_client, 99),
             median(first_init), pct(first_init, 99)],
            ["second (fork of the warm template)", median(second_client),
             pct(second_client, 99), median(second_init), pct(second_init, 99)],
            ["first ÷ second", median(first_client) / median(second_client), "", "", ""],
        ],
    ))


if __name__ == "__main__":
    main()
