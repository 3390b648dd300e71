"""Parsing HubSpot property values (always strings on the wire) into typed warehouse values.

Pure functions. A value that does not fit raises `InvalidValue` with a reason that never repeats
the value itself (it may be personal data). "Fits" means both the type and what PostgreSQL can
store: numbers within numeric's range, datetimes within the years 1 to 9999 (Python's range,
inside PostgreSQL's), text without NUL characters or lone UTF-16 surrogates (`storable_text`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

# Deliberately simple: one @, no spaces, a dot in the domain. RFC 5322 admits much more, HubSpot less.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_EPOCH_MS = re.compile(r"^-?\d{10,14}$")
# PostgreSQL's numeric: at most 131072 digits before the decimal point and 16383 after it.
NUMERIC_MAX_INTEGER_DIGITS = 131_072
NUMERIC_MAX_SCALE = 16_383
# NUL cannot be stored in PostgreSQL text or jsonb; a lone surrogate (JSON allows `\\ud800`) is not UTF-8.
_NUL = "\x00"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OUT_OF_RANGE = "a datetime outside the years 1 to 9999 (UTC)"
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


def storable_text(text: str) -> tuple[str, str | None]:
    """`text` as PostgreSQL can hold it, and why it had to change (None when unchanged).

    NUL characters are removed (not escaped: an escape would be indistinguishable from text that
    really reads "\\u0000"); lone surrogates become U+FFFD, the Unicode replacement character.
    """
    problems = []
    if _NUL in text:
        text = text.replace(_NUL, "")
        problems.append("NUL characters (removed)")
    if _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, text)
        problems.append("unpaired UTF-16 surrogates (replaced by U+FFFD)")
    if not problems:
        return text, None
    return text, f"text contains {' and '.join(problems)}, which PostgreSQL cannot store"


def parse_number(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidValue("not a number") from None
    if not number.is_finite():
        raise InvalidValue("not a finite number")
    exponent = number.as_tuple().exponent
    if (number and number.adjusted() >= NUMERIC_MAX_INTEGER_DIGITS) or -exponent > NUMERIC_MAX_SCALE:
        raise InvalidValue(
            f"a number outside PostgreSQL numeric's range ({NUMERIC_MAX_INTEGER_DIGITS} digits before the "
            f"decimal point, {NUMERIC_MAX_SCALE} after)"
        )
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
    try:
        if _EPOCH_MS.match(text):
            return _EPOCH + timedelta(milliseconds=int(text))  # exact, unlike a float timestamp
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue("not a datetime (expected ISO 8601 or epoch milliseconds)") from None
    except OverflowError:  # epoch milliseconds beyond year 9999 or before year 1
        raise InvalidValue(_OUT_OF_RANGE) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        # 0001-01-01T00:00:00+01:00 is valid ISO 8601 but in UTC falls before year 1.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidValue(_OUT_OF_RANGE) from None


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
