"""`yun activations` and `yun logs`: records as a table or JSON, log lines, and --follow."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from yun.cli import _logs

RECORD = {
    "id": "act-1",
    "function": "hello",
    "version": 3,
    "tenant": "default",
    "start": 1_700_000_000.0,
    "end": 1_700_000_000.5,
    "duration_ms": 512.25,
    "init_ms": 80.0,
    "wait_ms": 1.0,
    "memory_mb": 256,
    "max_rss_mb": 41.5,
    "status": "success",
    "billed_ms": 513,
    "gb_seconds": 0.128,
    "error_type": None,
    "error_message": None,
}


def test_activations_json_is_an_array_scripts_can_parse(yun_api: Any) -> None:
    yun_api.answers({"activations": [RECORD]})

    result = yun_api.run("activations", "hello", "--json", "--limit", "5")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [RECORD]
    assert dict(yun_api.last.url.params) == {"function": "hello", "limit": "5"}


def test_activations_table_shows_timing_memory_and_bill(yun_api: Any) -> None:
    yun_api.answers({"activations": [RECORD]})

    result = yun_api.run("activations")

    assert result.exit_code == 0, result.output
    assert "function" not in dict(yun_api.last.url.params)
    row = result.stdout.splitlines()[1].split()
    assert row[:9] == ["act-1", "hello", "3", "success", "512.2", "80", "513", "256", "/"]
    assert row[9:11] == ["41.5", "MiB"]


def test_activations_limit_must_be_positive(yun_api: Any) -> None:
    assert yun_api.run("activations", "--limit", "0").exit_code == 2


def log(seq: int, line: str) -> dict[str, object]:
    return {
        "seq": seq,
        "activation_id": "act-1",
        "function": "hello",
        "stream": "stdout",
        "time": 1_700_000_000.25,
        "line": line,
    }


def test_logs_prints_time_activation_stream_and_line(yun_api: Any) -> None:
    yun_api.answers({"logs": [log(1, "hello [world]"), log(2, "bye")]})

    result = yun_api.run("logs", "hello", "--activation", "act-1")

    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.endswith(" act-1 stdout hello [world]")
    assert first.split()[1].endswith(".250")  # milliseconds
    assert second.endswith(" act-1 stdout bye")
    params = dict(yun_api.last.url.params)
    assert params == {"function": "hello", "after": "0", "limit": "200", "activation": "act-1"}


def test_follow_polls_after_the_last_seq_until_ctrl_c(
    yun_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = [[log(1, "one"), log(2, "two")], [], [log(3, "three")]]

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"logs": pages.pop(0) if pages else []})

    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(_logs, "sleep", sleep)
    yun_api.handles(serve)

    result = yun_api.run("logs", "hello", "--follow")

    assert result.exit_code == 0, result.output
    assert [line.split()[-1] for line in result.stdout.splitlines()] == ["one", "two", "three"]
    assert [r.url.params["after"] for r in yun_api.requests] == ["0", "2", "2", "3"]
    assert naps == [0.5] * 4
    assert "Aborted" not in result.output
