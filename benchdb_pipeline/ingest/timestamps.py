"""Timestamps as the old tools wrote them, read into naive UTC datetimes.

Accepted: ISO 8601 (with or without zone; zoned values are converted to UTC), the compact
``20250302_201142`` of file and folder names, and Unix epochs in seconds or milliseconds.
Naive values are kept as written: the old tools wrote local time without saying which.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_COMPACT = re.compile(r"^(\d{8})[_T-]?(\d{6})$")
_EARLIEST = datetime(1990, 1, 1)
_LATEST = datetime(2100, 1, 1)


def parse_timestamp(value: object) -> datetime:
    """Parse one timestamp; raises ValueError with the reason when it is not one."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a timestamp")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value
        try:
            parsed = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value!r} is outside 1990–2100; not a measurement time") from None
    elif isinstance(value, str):
        text = value.strip()
        compact = _COMPACT.match(text)
        try:
            if compact:
                parsed = datetime.strptime(compact[1] + compact[2], "%Y%m%d%H%M%S")
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a timestamp (expected ISO 8601 or 20250302_201142)") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    else:
        raise ValueError(f"{value!r} is not a timestamp")
    if not _EARLIEST <= parsed < _LATEST:
        raise ValueError(f"{value!r} is outside 1990–2100; not a measurement time")
    return parsed
