"""Validation and normalisation of property values on writes, per property type.

HubSpot answers an invalid write with one 400 whose message embeds a JSON list of per-property problems
(``Property values were not valid: [{"isValid":false,...}]``); this module builds exactly that.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from hubspot_sandbox.clock import DAY_MS, iso_date, iso_ms, parse_datetime_ms
from hubspot_sandbox.errors import ApiError
from hubspot_sandbox.properties import PropertyDef, PropertyRegistry

MAX_STRING_LENGTH = 65_536
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidValue(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def format_number(number: Decimal) -> str:
    """HubSpot's form: no exponent, no trailing zeros (``1.50`` -> ``1.5``, ``1e3`` -> ``1000``)."""
    if number == number.to_integral_value():
        return format(number.to_integral_value(), "f")
    return format(number.normalize(), "f")


def _as_text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float, str)):
        return str(raw)
    raise InvalidValue("INVALID_TYPE", f"{json.dumps(raw)} is not a string, number or boolean")


def normalize_value(definition: PropertyDef, raw: Any) -> str:
    """The value as HubSpot would store it, or InvalidValue. ``""`` (clear) is handled by the caller."""
    text = _as_text(raw)
    kind = definition.type
    if kind == "number":
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            raise InvalidValue("INVALID_FLOAT", f"{text} was not a valid number.") from None
        # HubSpot stores numbers as doubles: anything a double cannot hold is not a number to it either.
        if not number.is_finite() or not math.isfinite(float(number)):
            raise InvalidValue("INVALID_FLOAT", f"{text} was not a valid number.")
        return format_number(number)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise InvalidValue("INVALID_BOOLEAN", f"{text} was not a valid boolean (use true or false).")
        return lowered
    if kind == "date":
        try:
            ms = parse_datetime_ms(text)
            formatted = iso_date(ms)
        except (ValueError, OverflowError, OSError):
            raise InvalidValue(
                "INVALID_DATE", f"{text} was not a valid date (YYYY-MM-DD or epoch ms)."
            ) from None
        if ms % DAY_MS:
            raise InvalidValue("INVALID_DATE", f"{text} is not midnight UTC; a date value must be.")
        return formatted
    if kind == "datetime":
        try:
            return iso_ms(parse_datetime_ms(text))
        except (ValueError, OverflowError, OSError):
            raise InvalidValue(
                "INVALID_DATE", f"{text} was not a valid datetime (ISO 8601 or epoch ms)."
            ) from None
    if kind == "enumeration":
        allowed = definition.option_values
        chosen = text.split(";") if definition.is_multi_select else [text]
        for value in chosen:
            if value not in allowed:
                raise InvalidValue(
                    "INVALID_OPTION",
                    f"{value} was not one of the allowed options: {sorted(allowed)}",
                )
        return text
    if len(text) > MAX_STRING_LENGTH:
        raise InvalidValue("MAX_LENGTH_EXCEEDED", f"value is longer than {MAX_STRING_LENGTH} characters")
    if definition.name == "email":
        text = text.strip().lower()
        if not _EMAIL.match(text):
            raise InvalidValue("INVALID_EMAIL", f"Email address {text} is invalid")
    return text


def validate_properties(registry: PropertyRegistry, raw: Any) -> dict[str, str]:
    """Normalised values to write (``""`` means clear, ``null`` is left out), or an ApiError carrying every
    problem at once."""
    if not isinstance(raw, dict):
        raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON: `properties` must be an object")
    clean: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for name, value in raw.items():
        definition = registry.get(name)
        if definition is None:
            problems.append(_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            continue
        if definition.read_only_value or definition.calculated:
            problems.append(
                _problem(
                    name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
                )
            )
            continue
        if value is None:
            continue  # HubSpot ignores null: only "" clears a value
        if value == "":
            clean[name] = ""
            continue
        try:
            clean[name] = normalize_value(definition, value)
        except InvalidValue as invalid:
            problems.append(_problem(name, invalid.code, invalid.message))
    if problems:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "Property values were not valid: " + json.dumps(problems),
            context={"propertyName": [p["name"] for p in problems]},
        )
    return clean


def _problem(name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }
