"""HTTP routes of one tenant: `METHOD /path/{param}` → function. Pure: no I/O.

A literal segment beats a parameter at the same place, so `/users/me` and `/users/{id}` can
both exist; two functions claiming the same method on the same path shape cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from yun.core import ManifestError
from yun.core.types import Cors, HttpTrigger, Trigger

ANY = "ANY"


@dataclass(frozen=True, slots=True)
class RouteMatch:
    function: str
    trigger: HttpTrigger
    params: dict[str, str]


def _segments(path: str) -> tuple[str, ...]:
    return tuple(path[1:].split("/")) if path not in ("", "/") else ()


def _shape(path: str) -> tuple[str, ...]:
    """The path with parameter names erased: `/users/{id}` and `/users/{uid}` collide."""
    return tuple("{}" if s.startswith("{") else s for s in _segments(path))


class RouteTable:
    """Built from each function's triggers (the latest versions'). Raises ManifestError on a
    clash, naming both functions, the method and the path."""

    def __init__(self, functions: Mapping[str, Iterable[Trigger]]) -> None:
        self._routes: list[tuple[tuple[str, ...], str, HttpTrigger]] = []
        claimed: dict[tuple[tuple[str, ...], str], tuple[str, str]] = {}
        for function in sorted(functions):
            for trigger in functions[function]:
                if not isinstance(trigger, HttpTrigger):
                    continue
                shape = _shape(trigger.path)
                for method in trigger.methods:
                    for (other, taken), (owner, path) in claimed.items():
                        if other == shape and (method == taken or ANY in (method, taken)):
                            raise ManifestError(
                                f"route {method} {trigger.path} of function '{function}' clashes "
                                f"with {taken} {path} of function '{owner}'")
                    claimed[(shape, method)] = (function, trigger.path)
                self._routes.append((_segments(trigger.path), function, trigger))
        # Most specific first: compare segment by segment, a literal before a parameter.
        self._routes.sort(key=lambda r: tuple((s.startswith("{"), s) for s in r[0]))

    def __bool__(self) -> bool:
        return bool(self._routes)

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route for `method path`; None if no route has this path and method."""
        for route in self._candidates(path):
            if ANY in route.trigger.methods or method in route.trigger.methods or (
                    method == "HEAD" and "GET" in route.trigger.methods):
                return route
        return None

    def methods(self, path: str) -> tuple[str, ...]:
        """The methods some route accepts on `path` (for 405's `Allow`)."""
        found = {m for r in self._candidates(path) for m in r.trigger.methods}
        return tuple(sorted(found))

    def cors(self, path: str) -> Cors | None:
        """The CORS policy of the first route on `path` that has one."""
        for route in self._candidates(path):
            if route.trigger.cors is not None:
                return route.trigger.cors
        return None

    def _candidates(self, path: str) -> Iterable[RouteMatch]:
        wanted = _segments(path)
        for segments, function, trigger in self._routes:
            if len(segments) != len(wanted):
                continue
            params: dict[str, str] = {}
            for pattern, value in zip(segments, wanted, strict=True):
                if pattern.startswith("{"):
                    if not value:
                        break
                    params[pattern[1:-1]] = value
                elif pattern != value:
                    break
            else:
                yield RouteMatch(function, trigger, params)
