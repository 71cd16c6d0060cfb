"""`@yun.function(...)`: marks a handler in a single-file deploy. Standard library only.

The deploy path reads the arguments from the source without running it; at run time the
decorator only records them on the function, so the handler behaves exactly as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, overload

F = TypeVar("F", bound=Callable[..., object])


@overload
def function(handler: F, /) -> F: ...


@overload
def function(**settings: object) -> Callable[[F], F]: ...


def function(handler: F | None = None, /, **settings: object) -> F | Callable[[F], F]:
    """Declare a handler and its manifest fields: `@yun.function(memory=256, timeout="5s")`."""

    def mark(fn: F) -> F:
        fn.__yun_manifest__ = dict(settings)  # type: ignore[attr-defined]
        return fn

    if handler is not None:
        return mark(handler)
    return mark
