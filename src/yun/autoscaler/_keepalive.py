"""Keep-alive policies: when an idle function's last instance goes, and when one comes back.

A policy hears of each invocation's arrival and of each moment the function falls idle (its
last in-flight request ended) and answers the latter with an `IdlePlan`. `fixed` keeps the
instance `keep_alive` seconds; `hybrid` (`_hybrid.py`) learns the function's idle times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class IdlePlan:
    """What to do with an idle function from `since` until its next invocation.

    Keep an instance until `unload_at` (equal to `since`: unload at once); if `prewarm_at` is
    set, load one again then and keep it until `expire_at`.
    """

    since: float
    unload_at: float
    prewarm_at: float | None = None
    expire_at: float | None = None
    reason: str = "fixed"  # which rule made the plan, for `yun top`

    def keeps(self, now: float) -> bool:
        """Whether the plan has an instance loaded at `now`."""
        if now < self.unload_at:
            return True
        return (self.prewarm_at is not None and self.expire_at is not None
                and self.prewarm_at <= now < self.expire_at)


class KeepAlive(Protocol):
    """One function's keep-alive policy. Calls come with a non-decreasing `now`."""

    def on_invocation(self, now: float) -> None:
        """An invocation arrived (calling it for every arrival, busy or not, is fine)."""
        ...

    def on_idle_start(self, now: float) -> IdlePlan:
        """The function's last in-flight invocation ended: plan its idle time."""
        ...


class FixedKeepAlive:
    """Keep an idle instance for `keep_alive` seconds (Lambda keeps ~10 min, Azure 20)."""

    def __init__(self, keep_alive: float) -> None:
        if not keep_alive >= 0:
            raise ValueError(f"keep_alive must be >= 0 s, was: {keep_alive}")
        self.keep_alive = keep_alive
        self._reason = f"fixed {keep_alive:g} s"

    def on_invocation(self, now: float) -> None:
        pass

    def on_idle_start(self, now: float) -> IdlePlan:
        return IdlePlan(since=now, unload_at=now + self.keep_alive, reason=self._reason)
