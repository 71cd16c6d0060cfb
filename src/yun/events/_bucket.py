"""The bucket source: object events (from the local backend directly, or an S3-compatible
store's notification webhook) to the functions whose bucket triggers match.

Each match is submitted as a CloudEvent (`yun.bucket.object.created|deleted`, source
`/buckets/<bucket>`, subject the key) with a dedupe key made of the trigger, bucket, key,
etag and event kind, so the same event delivered twice (a webhook retried, a put repeated
after its event failed to queue) becomes one invocation.

The loop guard (docs/triggers.md, "bucket"): objects written by an invocation carry an
`Origin` (the trigger that started it and the chain depth). An event whose object came from
the same trigger is not delivered; one whose chain would pass `MAX_DEPTH` invocations is
refused and recorded in `refusals`. The envelope tells the invocation its trigger and depth
in the `yuntrigger` and `yundepth` extension attributes, so its own writes can carry them on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from yun.core import Clock
from yun.core._triggers import trigger_to_dict
from yun.core.types import BucketTrigger, Trigger
from yun.events._cloudevents import new_event
from yun.events._source import WallClock
from yun.queue import Submit
from yun.storage import ObjectEvent

log = logging.getLogger("yun.events")

MAX_DEPTH = 16  # invocations in one chain of bucket events, the first one included
_KEPT_REFUSALS = 100  # per tenant, newest last


@dataclass(frozen=True, slots=True)
class Refusal:
    at: float  # the source's clock (wall-clock seconds)
    tenant: str
    function: str
    trigger: str
    bucket: str
    key: str
    depth: int  # the depth the invocation would have had
    reason: str


def trigger_id(function: str, trigger: BucketTrigger) -> str:
    """Stable across redeploys of the same trigger; different for a changed one."""
    spec = json.dumps(trigger_to_dict(trigger), sort_keys=True).encode()
    return f"{function}#{hashlib.sha256(spec).hexdigest()[:12]}"


class BucketSource:
    def __init__(self, submit: Submit, clock: Clock | None = None) -> None:
        self.submit = submit
        self.clock = clock or WallClock()
        # (tenant, bucket) -> [(function, trigger id, trigger)]
        self._subscribers: dict[tuple[str, str], list[tuple[str, str, BucketTrigger]]] = {}
        self._refusals: dict[str, deque[Refusal]] = {}
        self.skipped_own = 0  # events not delivered to the trigger that wrote their object

    def subscribe(self, tenant: str, function: str, triggers: Iterable[Trigger]) -> None:
        """`function`'s bucket triggers are now `triggers` (others kinds are ignored)."""
        self.unsubscribe(tenant, function)
        for trigger in triggers:
            if isinstance(trigger, BucketTrigger):
                entry = (function, trigger_id(function, trigger), trigger)
                self._subscribers.setdefault((tenant, trigger.bucket), []).append(entry)

    def unsubscribe(self, tenant: str, function: str) -> None:
        for key in [k for k in self._subscribers if k[0] == tenant]:
            kept = [entry for entry in self._subscribers[key] if entry[0] != function]
            if kept:
                self._subscribers[key] = kept
            else:
                del self._subscribers[key]

    def refusals(self, tenant: str) -> list[Refusal]:
        return list(self._refusals.get(tenant, ()))

    async def deliver(self, event: ObjectEvent) -> list[str]:
        """Submit `event` to every matching trigger; the invocation ids. Raises what `Submit`
        raises, so the caller can report failure and the event be sent again."""
        info = event.object
        origin = info.origin
        depth = (origin.depth if origin else 0) + 1
        ids = []
        for function, tid, trigger in self._subscribers.get((event.tenant, info.bucket), ()):
            if (event.kind not in trigger.events or not info.key.startswith(trigger.prefix)
                    or not info.key.endswith(trigger.suffix)):
                continue
            if origin is not None and origin.trigger == tid:
                self.skipped_own += 1
                continue
            if depth > MAX_DEPTH:
                self._refuse(Refusal(self.clock.now(), event.tenant, function, tid, info.bucket,
                                     info.key, depth,
                                     f"a chain of bucket events would run more than "
                                     f"{MAX_DEPTH} invocations"))  # fmt: skip
                continue
            ids.append(await self._submit(event, function, tid, depth))
        return ids

    async def _submit(self, event: ObjectEvent, function: str, tid: str, depth: int) -> str:
        info = event.object
        # The object's time tells a later write of the same bytes (or a second delete) from a
        # repeat of this very event, which carries the same time.
        stable = (f"{tid}\0{info.bucket}\0{info.key}\0{info.etag}\0{event.kind}\0"
                  f"{info.modified!r}")
        digest = hashlib.sha256(stable.encode()).hexdigest()
        envelope = new_event(
            f"/buckets/{info.bucket}", f"yun.bucket.object.{event.kind}",
            {"bucket": info.bucket, "key": info.key, "size": info.size, "etag": info.etag,
             "content_type": info.content_type},
            subject=info.key, id=digest[:32],
            time=info.modified if event.kind == "created" else None,
        )  # fmt: skip
        envelope = dataclasses.replace(
            envelope, extensions={"yuntrigger": tid, "yundepth": str(depth)})
        return await self.submit(event.tenant, function, envelope.to_json(), "bucket",
                                 f"bucket:{digest}")  # fmt: skip

    def _refuse(self, refusal: Refusal) -> None:
        log.warning("bucket event refused for %s/%s (%s %s): %s", refusal.tenant,
                    refusal.function, refusal.bucket, refusal.key, refusal.reason)
        kept = self._refusals.setdefault(refusal.tenant, deque(maxlen=_KEPT_REFUSALS))
        kept.append(refusal)
