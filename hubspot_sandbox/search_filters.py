"""Search filters as predicates over records, comparing values by their property's type.

Numbers compare as numbers, dates and datetimes as epoch milliseconds, everything else case-insensitively
as text; multi-select values match when any of their ``;``-joined options does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from hubspot_sandbox.clock import parse_datetime_ms
from hubspot_sandbox.errors import validation_error
from hubspot_sandbox.records import ObjectTable, Record

_TOKEN_SPLIT = re.compile(r"[\s,;@]+")


def typed_getter(table: ObjectTable, name: str) -> tuple[Callable[[Record], Any], Callable[[Any], Any]]:
    """(record -> comparable or None, filter value -> comparable) for one property."""
    definition = table.registry.get(name)
    assert definition is not None
    if name == "hs_object_id":
        return (lambda r: r.id), to_int
    if name == "createdate":
        return (lambda r: r.created_ms), to_ms
    if name == table.object_type.last_modified_property:
        return (lambda r: r.updated_ms), to_ms
    kind = definition.type
    if kind == "number":
        return (lambda r: _maybe(float, r.props.get(name))), _to_float
    if kind in ("date", "datetime"):
        return (lambda r: _maybe(parse_datetime_ms, r.props.get(name))), to_ms
    return (lambda r: _lower(r.props.get(name))), (lambda v: str(v).lower())


def _maybe(convert: Callable[[str], Any], raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return convert(raw)
    except (ValueError, OverflowError):
        return None


def _lower(raw: str | None) -> str | None:
    return raw.lower() if raw is not None else None


def to_int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise validation_error(f"{value!r} is not a valid id.") from None


def _to_float(value: Any) -> float:
    try:
        return float(str(value))
    except ValueError:
        raise validation_error(f"{value!r} is not a valid number.") from None


def to_ms(value: Any) -> int:
    try:
        return parse_datetime_ms(str(value))
    except ValueError:
        raise validation_error(f"{value!r} is not a valid date: use epoch milliseconds.") from None


def compile_filter(table: ObjectTable, raw: dict[str, Any]) -> Callable[[Record], bool]:
    name, operator = raw["propertyName"], raw["operator"]
    getter, convert = typed_getter(table, name)
    definition = table.registry.get(name)
    multi = definition is not None and definition.is_multi_select

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        wanted = operator == "HAS_PROPERTY"
        return lambda r: (getter(r) is not None) == wanted
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(raw["value"]).lower()
        wanted = operator == "CONTAINS_TOKEN"

        def contains(record: Record) -> bool:
            value = getter(record)
            if value is None:
                return not wanted
            text = str(value)
            tokens = [text, *_TOKEN_SPLIT.split(text)]
            return any(fnmatchcase(token, pattern) for token in tokens) == wanted

        return contains
    if operator in ("IN", "NOT_IN"):
        wanted_set = {convert(v) for v in raw["values"]}
        inside = operator == "IN"
        if multi:
            return lambda r: (
                (getter(r) is not None and bool(wanted_set & set(getter(r).split(";")))) == inside
            )
        return lambda r: (getter(r) in wanted_set) == inside
    if operator == "BETWEEN":
        low, high = convert(raw["value"]), convert(raw["highValue"])
        return lambda r: (v := getter(r)) is not None and low <= v <= high
    target = convert(raw["value"])
    if operator in ("EQ", "NEQ"):
        equal = operator == "EQ"
        if multi:
            return lambda r: (getter(r) is not None and target in getter(r).split(";")) == equal
        return lambda r: (getter(r) == target) == equal
    compare: dict[str, Callable[[Any], bool]] = {
        "LT": lambda v: v < target,
        "LTE": lambda v: v <= target,
        "GT": lambda v: v > target,
        "GTE": lambda v: v >= target,
    }
    check = compare[operator]
    return lambda r: (v := getter(r)) is not None and check(v)
