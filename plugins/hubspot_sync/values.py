"""Parsing HubSpot property values (always strings on the wire) into typed warehouse values.

Pure functions. A value that does not fit raises `InvalidValue` with a reason that never repeats
the value itself (it may be personal data).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# Deliberately simple: one @, no spaces, a dot in the domain. RFC 5322 admits much more, HubSpot less.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_EPOCH_MS = re.compile(r"^-?\d{10,14}$")
_TRUE = frozenset({"true"})
_FALSE = frozenset({"false"})


class InvalidValue(ValueError):
    """The value does not fit the property's type; the message is the reason."""


def clean(raw: Any) -> str | None:
    """Trim whitespace; empty means no value (HubSpot clears a property with "")."""
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def parse_number(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidValue("not a number") from None
    if not number.is_finite():
        raise InvalidValue("not a finite number")
    return number


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidValue("not a boolean (expected 'true' or 'false')")


def parse_datetime(text: str) -> datetime:
    """ISO 8601 (any offset, normalised to UTC) or epoch milliseconds, as HubSpot accepts both."""
    if _EPOCH_MS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue("not a datetime (expected ISO 8601 or epoch milliseconds)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(text: str) -> date:
    """YYYY-MM-DD, or a datetime / epoch milliseconds at midnight UTC (date values sometimes arrive so)."""
    if _EPOCH_MS.match(text) or "T" in text:
        moment = parse_datetime(text)
        if moment.time() != datetime.min.time():
            raise InvalidValue("a date given with a time must be midnight UTC")
        return moment.date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("not a date (expected YYYY-MM-DD)") from None


def parse_multi(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


_PARSERS = {
    "number": parse_number,
    "bool": parse_bool,
    "datetime": parse_datetime,
    "date": parse_date,
    "multi_enumeration": parse_multi,
}


def parse_typed(text: str, property_type: str) -> Any:
    """The typed value for a cleaned, non-empty text; strings and enumerations stay text."""
    parser = _PARSERS.get(property_type)
    return parser(text) if parser else text


def is_email(text: str) -> bool:
    return bool(EMAIL_PATTERN.match(text))


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
