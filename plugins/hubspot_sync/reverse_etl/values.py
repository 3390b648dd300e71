"""Pure conversion of query values into HubSpot property values, and the checks made before sending.

Two steps, so that an unchanged row costs no API call:
1. `canonical` turns a PostgreSQL value into a string without knowing the property type. The diff runs on
   these strings, and push state stores them.
2. `to_wire` checks a canonical string against the property's live definition (type, options) and returns
   what is sent. It runs only for rows that changed, once the definitions have been read.

Refusal reasons never contain the refused value: it may be personal data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from hubspot_sync.reverse_etl.model_config import RECORD_ID

# One notion of a valid value for both directions: what extraction accepts is what may be sent.
from hubspot_sync.values import InvalidValue, is_email, parse_bool, parse_number

MAX_STRING_LENGTH = 65_536
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH_MS = re.compile(r"^-?\d{1,15}$")

__all__ = ["InvalidValue", "PropertyDefinition", "canonical", "mapping_problems", "match_key", "to_wire"]


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
    if not number.is_finite():
        raise InvalidValue("not a finite number")
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


def canonical(value: Any) -> str:
    """The value as a string HubSpot understands, whatever the property type; NULL becomes "" (clear)."""
    if value is None:
        return ""
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
