"""A `Submit` that records its calls: stands in for the queue in event source tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Submitted:
    tenant: str
    target: str
    body: bytes
    source: str
    dedupe_key: str | None


@dataclass
class RecordingSubmit:
    """Stands in for the queue: remembers every call, dedupes by key as the queue does."""

    calls: list[Submitted] = field(default_factory=list)
    fail: Exception | None = None

    async def __call__(self, tenant: str, target: str, body: bytes, source: str,
                       dedupe_key: str | None) -> str:
        if self.fail is not None:
            raise self.fail
        for i, call in enumerate(self.calls):
            if dedupe_key is not None and (call.tenant, call.dedupe_key) == (tenant, dedupe_key):
                return f"inv-{i}"
        self.calls.append(Submitted(tenant, target, body, source, dedupe_key))
        return f"inv-{len(self.calls) - 1}"
