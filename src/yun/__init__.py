"""Yun (云): a self-hosted serverless platform.

The import is deliberately light: the runtime inside every sandbox imports `yun.runtime` and
`yun.protocol`, which first imports this module, so heavy parts load only on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from yun.sdk import Client, function

__all__ = ["Client", "__version__", "function"]


def __getattr__(name: str) -> object:
    if name == "function":
        from yun.sdk._decorator import function

        return function
    if name == "Client":
        from yun.sdk._client import Client

        return Client
    raise AttributeError(f"module 'yun' has no attribute {name!r}")
