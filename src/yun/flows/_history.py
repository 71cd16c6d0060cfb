"""History events in the shape of Step Functions' GetExecutionHistory.

Ids count from 1 in the order events happen; `previous_event_id` is the event before it in
the same thread of control (a Map iteration or Parallel branch has its own thread), as in
AWS. Payloads in details are JSON text, as AWS shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from yun.flows._json import Json
from yun.flows._timestamps import format_timestamp


@dataclass(frozen=True)
class HistoryEvent:
    id: int
    previous_event_id: int
    timestamp: datetime
    type: str
    details: dict[str, Json] = field(default_factory=dict)

    @property
    def details_key(self) -> str:
        if self.type.endswith("StateEntered"):
            return "stateEnteredEventDetails"
        if self.type.endswith("StateExited"):
            return "stateExitedEventDetails"
        return self.type[0].lower() + self.type[1:] + "EventDetails"

    def to_json(self) -> dict[str, Json]:
        """The event as AWS prints it: id, previousEventId, timestamp, type, <type>Details."""
        out: dict[str, Json] = {
            "id": self.id,
            "previousEventId": self.previous_event_id,
            "timestamp": format_timestamp(self.timestamp),
            "type": self.type,
        }
        if self.details:
            out[self.details_key] = self.details
        return out

    @classmethod
    def from_json(cls, data: dict[str, Json]) -> HistoryEvent:
        from yun.flows._timestamps import parse_timestamp

        event_type = str(data["type"])
        details: dict[str, Json] = next(
            (v for k, v in data.items() if k.endswith("EventDetails") and isinstance(v, dict)), {}
        )
        moment = parse_timestamp(str(data["timestamp"]))
        assert moment is not None
        return cls(int(data["id"]), int(data["previousEventId"]), moment, event_type, dict(details))
