"""The C modules the install builds (setup.py): present, built from their current source, and
used."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

import yun
from yun.gateway import _plain, _protocol

SOURCES = sorted(Path(yun.__file__).parent.glob("*/*.c"))


def test_each_c_source_is_a_built_module() -> None:
    assert [s.relative_to(Path(yun.__file__).parent).as_posix() for s in SOURCES] == [
        "gateway/_plain.c"]


@pytest.mark.parametrize("module", [_plain], ids=lambda m: m.__name__)
def test_a_built_module_is_not_older_than_its_source(module: ModuleType) -> None:
    built = Path(str(module.__file__))
    source = built.with_name(module.__name__.rpartition(".")[2] + ".c")
    assert built.suffix == ".so", f"{module.__name__} is not the built module: {built}"
    assert built.stat().st_mtime >= source.stat().st_mtime, (
        f"{built.name} was built before {source.name} last changed: rebuild it (make setup)")


def test_the_code_uses_the_built_modules() -> None:
    assert _protocol._parse is _plain.parse
    assert _protocol._answer is _plain.answer
