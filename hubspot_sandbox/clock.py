"""Millisecond timestamps and HubSpot's two wire formats for them (ISO with ``.mmmZ``, epoch-ms strings)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_ms(ms: int) -> str:
    """``2025-01-02T03:04:05.678Z``: the only datetime format HubSpot emits."""
    seconds, millis = divmod(ms, 1000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{millis:03d}Z"
    )


def iso_date(ms: int) -> str:
    t = time.gmtime(ms // 1000)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"


def parse_datetime_ms(text: str) -> int:
    """Epoch ms from an epoch-ms string, an ISO 8601 datetime or a plain date; ValueError otherwise."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if len(text) == 10:
        parsed_date = date.fromisoformat(text)
        return (parsed_date - _EPOCH.date()).days * DAY_MS
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _ONE_MS
