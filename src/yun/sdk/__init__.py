"""The Python SDK: the `@function` decorator and an HTTP client for the control API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from yun.sdk._decorator import function

if TYPE_CHECKING:
    from yun.sdk._client import Client

__all__ = ["Client", "function"]


def __getattr__(name: str) -> object:
    if name == "Client":
        from yun.sdk._client import Client

        return Client
    raise AttributeError(f"module 'yun.sdk' has no attribute {name!r}")
