"""Pure conversion of query values into HubSpot property values, and the checks made before sending.

Two steps, so that an unchanged row costs no API call:
1. `canonical` turns a PostgreSQL value into a string without knowing the property type. The diff runs on
   these strings, and push state stores them.
2. `to_wire` checks a canonical string against the property's live definition (type, options) and returns
   what is sent. It runs only for rows that changed, once the definitions have been read.

Nothing is rounded: a number is sent with exactly the digits PostgreSQL holds, or refused when it has more
significant digits than `MAX_SIGNIFICANT_DIGITS`. Values PostgreSQL holds but Python cannot (`infinity`
timestamps, dates after 9999) reach `canonical` as `OUT_OF_RANGE` through `tolerant_datetime_loaders`, and are
refused per row like any other value HubSpot cannot hold.

Refusal reasons never contain the refused value: it may be personal data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from psycopg import DataError
from psycopg.adapt import AdaptersMap, Loader
from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader

from hubspot_sync.reverse_etl.model_config import RECORD_ID

# One notion of a valid value for both directions: what extraction accepts is what may be sent.
from hubspot_sync.values import InvalidValue, is_email, parse_bool, parse_number

MAX_STRING_LENGTH = 65_536
# A number is sent digit for digit. Past 28 significant digits (the precision of the common decimal types,
# e.g. .NET's decimal and Python's default context) a receiving system rounds, so such values are refused
# instead: the model should round them to what it means.
MAX_SIGNIFICANT_DIGITS = 28
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH_MS = re.compile(r"^-?\d{1,15}$")

__all__ = [
    "OUT_OF_RANGE",
    "InvalidValue",
    "PropertyDefinition",
    "canonical",
    "mapping_problems",
    "match_key",
    "to_wire",
    "tolerant_datetime_loaders",
]


class _OutOfRange:
    """A date or time PostgreSQL holds but Python cannot (infinity, a year after 9999 or before 1)."""

    def __repr__(self) -> str:
        return "OUT_OF_RANGE"


OUT_OF_RANGE = _OutOfRange()


def _tolerant(base: type[Loader]) -> type[Loader]:
    class Tolerant(base):  # type: ignore[misc, valid-type]
        def load(self, data):
            try:
                return super().load(data)
            except DataError:
                return OUT_OF_RANGE

    Tolerant.__name__ = f"Tolerant{base.__name__}"
    return Tolerant


def tolerant_datetime_loaders(adapters: AdaptersMap) -> None:
    """Make a cursor's (or connection's) date and timestamp columns load out-of-range values as OUT_OF_RANGE.

    Without this, one `infinity` in a model's result fails the whole fetch, naming no row.
    """
    for type_name, loader in (("date", DateLoader), ("timestamp", TimestampLoader)):
        adapters.register_loader(type_name, _tolerant(loader))
    adapters.register_loader("timestamptz", _tolerant(TimestamptzLoader))


@dataclass(frozen=True)
class PropertyDefinition:
    """What validation needs from one entry of GET /crm/v3/properties/{objectType}."""

    name: str
    type: str
    field_type: str = ""
    writable: bool = True
    unique: bool = False
    options: frozenset[str] = frozenset()

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> PropertyDefinition:
        metadata = raw.get("modificationMetadata") or {}
        return cls(
            name=str(raw["name"]),
            type=str(raw.get("type") or "string"),
            field_type=str(raw.get("fieldType") or ""),
            writable=not (raw.get("calculated") or metadata.get("readOnlyValue")),
            unique=bool(raw.get("hasUniqueValue")),
            options=frozenset(str(option["value"]) for option in raw.get("options") or []),
        )

    @property
    def multi_select(self) -> bool:
        return self.type == "enumeration" and self.field_type == "checkbox"


def format_number(number: Decimal) -> str:
    """The number in plain notation with exactly its significant digits; never rounded."""
    if not number.is_finite():
        raise InvalidValue("not a finite number")
    sign, digits, exponent = number.as_tuple()
    significant = "".join(map(str, digits)).strip("0")
    if not significant:
        return "0"
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    exponent += trailing_zeros
    if len(significant) > MAX_SIGNIFICANT_DIGITS or abs(exponent) > MAX_SIGNIFICANT_DIGITS:
        raise InvalidValue(
            f"a number with more than {MAX_SIGNIFICANT_DIGITS} significant digits or beyond "
            f"1e{MAX_SIGNIFICANT_DIGITS}; HubSpot would not keep it exactly, so round it in the model"
        )
    # Built from the digit tuple rather than formatted by the decimal context, which rounds at 28 digits.
    exact = Decimal((sign, tuple(int(d) for d in significant), exponent))
    return format(exact, "f")


def canonical(value: Any) -> str:
    """The value as a string HubSpot understands, whatever the property type; NULL becomes "" (clear)."""
    if value is None:
        return ""
    if value is OUT_OF_RANGE:
        raise InvalidValue("a date or time HubSpot cannot hold (infinity, or a year outside 1-9999)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue("not a finite number")
        return format_number(Decimal(repr(value)))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidValue("a timestamp without time zone; cast it to timestamptz (or date) in the model")
        return _iso_ms(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ";".join(canonical(item) for item in value if item is not None)
    raise InvalidValue(f"a value of PostgreSQL-side type {type(value).__name__}, which HubSpot cannot hold")


def match_key(value: Any, key_property: str) -> str:
    """The normalised match value of a row: a record id, or a unique property value (emails lower-cased)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidValue("the match key is empty")
    if key_property == RECORD_ID:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or int(text) == 0:
            raise InvalidValue("the match key is not a HubSpot record id (a positive integer)")
        return str(int(text))
    text = canonical(value).strip()
    if key_property == "email":
        text = text.lower()
        if not is_email(text):
            raise InvalidValue("the match key is not a valid email address")
    return text


def to_wire(definition: PropertyDefinition, value: str) -> str:
    """The canonical `value` as sent to `definition`'s property, or InvalidValue saying why it cannot be."""
    if value == "":
        return ""
    kind = definition.type
    if kind == "number":
        try:
            return format_number(parse_number(value.strip()))
        except InvalidValue:
            raise InvalidValue(f"{definition.name} is a number property; the value is not a number") from None
    if kind == "bool":
        try:
            return "true" if parse_bool(value.strip()) else "false"
        except InvalidValue:
            raise InvalidValue(
                f"{definition.name} is a bool property; the value is not true or false"
            ) from None
    if kind == "date":
        moment = _parse_moment(definition.name, value)
        if moment.time() != time(0) or moment.utcoffset():
            raise InvalidValue(f"{definition.name} is a date property; the value is not a UTC midnight")
        return moment.date().isoformat()
    if kind == "datetime":
        return _iso_ms(_parse_moment(definition.name, value))
    if kind == "enumeration":
        chosen = value.split(";") if definition.multi_select else [value]
        if any(option not in definition.options for option in chosen):
            raise InvalidValue(
                f"{definition.name} accepts only the options {', '.join(sorted(definition.options))}"
            )
        return value
    if len(value) > MAX_STRING_LENGTH:
        raise InvalidValue(f"{definition.name} holds at most {MAX_STRING_LENGTH} characters")
    if definition.name == "email" and not is_email(value.strip()):
        raise InvalidValue("email is not a valid email address")
    return value


def mapping_problems(
    properties: dict[str, str], key_property: str, definitions: dict[str, PropertyDefinition]
) -> list[str]:
    """Why the model's column -> property mapping cannot be written at all (empty when it can)."""
    problems = []
    for column, name in properties.items():
        definition = definitions.get(name)
        if definition is None:
            problems.append(f"column {column} maps to property {name}, which does not exist in HubSpot")
        elif not definition.writable:
            problems.append(f"column {column} maps to property {name}, which is read-only or calculated")
    if key_property != RECORD_ID:
        key = definitions.get(key_property)
        if key is None or not key.unique:
            problems.append(f"key property {key_property} is not a property with unique values in HubSpot")
    return problems


def _parse_moment(name: str, value: str) -> datetime:
    """A date (midnight UTC), an ISO 8601 timestamp with offset, or epoch milliseconds."""
    text = value.strip()
    try:
        if _DATE.match(text):
            return datetime.combine(date.fromisoformat(text), time(0), UTC)
        if _EPOCH_MS.match(text):
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise InvalidValue(f"{name} is a date/datetime property; the value is not a date or time") from None
    if moment.tzinfo is None:
        raise InvalidValue(f"{name} needs a time zone on its timestamp; send timestamptz")
    return moment.astimezone(UTC)


def _iso_ms(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
