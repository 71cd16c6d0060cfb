"""Configuration: defaults, then YUN_* variables, then flags; validated at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from yun.core import InvalidRequest
from yun.server import Config, load_config


def test_defaults_serve_locally_on_8080_with_state_in_dot_yun(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("YUN_HOST", "YUN_PORT", "YUN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    config = load_config()
    assert (config.host, config.port, config.data_dir) == ("127.0.0.1", 8080, Path(".yun"))


def test_environment_overrides_defaults_and_flags_override_both(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUN_PORT", "9000")
    monkeypatch.setenv("YUN_DATA_DIR", "/tmp/somewhere")
    monkeypatch.setenv("YUN_NAMESPACES", "false")
    config = load_config(port=9100)
    assert config.port == 9100
    assert config.data_dir == Path("/tmp/somewhere")
    assert config.namespaces is False


def test_a_malformed_variable_names_itself_and_its_value(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUN_PORT", "eighty")
    with pytest.raises(InvalidRequest, match="YUN_PORT must be an int, was: 'eighty'"):
        load_config()


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"port must be 1\.\.65535, was: 70000"):
        Config(port=70000).validate()
    with pytest.raises(InvalidRequest, match="queue_depth must be at least 1, was: 0"):
        Config(queue_depth=0).validate()


def test_walls_can_be_left_out_by_name_only_to_measure_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUN_WALLS_OFF", "seccomp, netns")
    assert load_config().walls == ("seccomp", "netns")
    assert Config().walls == ()
    with pytest.raises(InvalidRequest, match=r"walls_off names walls from pivot_root, seccomp, "
                                             r"privileges, netns, was: 'seccomp,firewall'"):
        Config(walls_off="seccomp,firewall").validate()
