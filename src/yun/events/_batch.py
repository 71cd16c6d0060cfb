"""Collecting messages into batches: N messages or T seconds after the first, whichever first.
Pure: the caller says what arrived and what time it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from yun.core.types import Batch

T = TypeVar("T")


@dataclass
class Batcher(Generic[T]):
    """One function's open batch. `add` returns a full batch; `due` a batch whose window
    ended. Without a `Batch` every message is its own batch."""

    batch: Batch | None
    items: list[T] = field(default_factory=list)
    opened: float = 0.0

    def add(self, item: T, now: float) -> list[T] | None:
        if not self.items:
            self.opened = now
        self.items.append(item)
        if self.batch is None or len(self.items) >= self.batch.size:
            return self.take()
        return None

    def deadline(self) -> float | None:
        """When the open batch must go, or None when nothing waits."""
        if not self.items or self.batch is None:
            return None
        return self.opened + self.batch.window

    def due(self, now: float) -> list[T] | None:
        deadline = self.deadline()
        return self.take() if deadline is not None and now >= deadline else None

    def take(self) -> list[T]:
        items, self.items = self.items, []
        return items
