"""`yun up` hands its flags to the server; `yun config show` explains the client settings."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from yun.cli import app


@pytest.fixture
def server_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stands in for `yun.server` so `yun up` returns instead of serving."""
    calls: list[dict[str, Any]] = []
    server = types.ModuleType("yun.server")
    server.run = lambda **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "yun.server", server)
    return calls


def test_up_passes_its_flags_to_the_server(server_runs: list[dict[str, Any]]) -> None:
    args = ["up", "--host", "0.0.0.0", "--port", "9000", "--data-dir", "state", "--demo"]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    assert server_runs == [
        {"host": "0.0.0.0", "port": 9000, "data_dir": Path("state"), "demo": True}
    ]


def test_up_reads_yun_host_port_and_data_dir_from_the_environment(
    server_runs: list[dict[str, Any]],
) -> None:
    env = {"YUN_HOST": "::1", "YUN_PORT": "8181", "YUN_DATA_DIR": "/srv/yun"}

    CliRunner().invoke(app, ["up"], env=env)

    assert server_runs == [
        {"host": "::1", "port": 8181, "data_dir": Path("/srv/yun"), "demo": False}
    ]


def test_up_leaves_unset_flags_to_the_server_config(server_runs: list[dict[str, Any]]) -> None:
    CliRunner().invoke(app, ["up"])

    assert server_runs == [{"host": None, "port": None, "data_dir": None, "demo": False}]


def test_up_refuses_a_port_out_of_range(server_runs: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, ["up", "--port", "70000"])

    assert result.exit_code == 2
    assert server_runs == []


def test_config_show_names_sources_and_masks_the_key(tmp_path: Path) -> None:
    (tmp_path / ".yun").mkdir()
    (tmp_path / ".yun" / "endpoint").write_text("http://127.0.0.1:8123\n")
    env = {"YUN_API_KEY": "sk-0123456789abcdef"}

    result = CliRunner().invoke(app, ["config", "show"], env=env)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["url", "http://127.0.0.1:8123", "(.yun/endpoint)"]
    assert lines[1].split() == ["data", "dir", ".yun", "(default)"]
    assert lines[2].split() == ["api", "key", "sk-01234…", "($YUN_API_KEY)"]
    assert "0123456789abcdef" not in result.output


def test_config_show_without_a_key_says_so() -> None:
    result = CliRunner().invoke(app, ["config", "show"])

    assert result.stdout.splitlines()[2].split() == ["api", "key", "(none)", "(not", "set)"]
