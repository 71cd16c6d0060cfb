"""ISO-8601 extended offset date-times, as Wait and the Timestamp* Choice rules accept them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# Date, 'T', time, optional fraction (up to nanoseconds), and a mandatory offset.
_PATTERN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})"
)


def parse_timestamp(text: str) -> datetime | None:
    """The instant `text` names, or None when it is not a valid extended offset date-time."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0").ljust(9, "0")[:6])
    if offset == "Z":
        tz = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """UTC with milliseconds, as the context object shows times: 2024-01-02T03:04:05.678Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
