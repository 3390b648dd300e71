"""Canonical values, match keys and HubSpot type checks: pure, no services."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from hubspot_sync.reverse_etl.values import (
    OUT_OF_RANGE,
    InvalidValue,
    PropertyDefinition,
    canonical,
    mapping_problems,
    match_key,
    to_wire,
)

NUMBER = PropertyDefinition("usage_score", "number")
BOOL = PropertyDefinition("is_vip", "bool")
DATE = PropertyDefinition("signup_date", "date")
DATETIME = PropertyDefinition("last_login_at", "datetime")
TIER = PropertyDefinition("customer_tier", "enumeration", "select", options=frozenset({"gold", "silver"}))
INTERESTS = PropertyDefinition("interests", "enumeration", "checkbox", options=frozenset({"a", "b", "c"}))
TEXT = PropertyDefinition("jobtitle", "string")
EMAIL = PropertyDefinition("email", "string", unique=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (Decimal("42.000"), "42"),
        (Decimal("0.50"), "0.5"),
        (2.25, "2.25"),
        (date(2025, 6, 1), "2025-06-01"),
        (datetime(2025, 6, 1, 12, 30, 5, 123456, tzinfo=UTC), "2025-06-01T12:30:05.123Z"),
        (datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), "2025-06-01T12:00:00.000Z"),
        ("text", "text"),
        (["a", None, "b"], "a;b"),
    ],
)
def test_canonical_values(value, expected):
    assert canonical(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (datetime(2025, 6, 1, 12, 0), "without time zone"),
        (float("nan"), "finite"),
        (Decimal("Infinity"), "finite"),
        ({"a": 1}, "cannot hold"),
        (Decimal("12345678901234567890123456789"), "28 significant digits"),
        (Decimal("1.0000000000000000000000000001"), "28 significant digits"),
        (Decimal("1e29"), "28 significant digits"),
        (Decimal("1e-29"), "28 significant digits"),
        (OUT_OF_RANGE, "year outside 1-9999"),
    ],
)
def test_canonical_refuses_values_hubspot_cannot_hold(value, reason):
    with pytest.raises(InvalidValue, match=reason) as refused:
        canonical(value)
    assert "1234567890" not in str(refused.value)


@pytest.mark.parametrize(
    "text",
    ["1234567890123456789012345678", "0.1234567890123456789012345678", "-1.5", "1000000", "0.0000001"],
)
def test_numbers_are_sent_digit_for_digit_never_rounded(text):
    assert canonical(Decimal(text)) == text
    assert to_wire(PropertyDefinition("score", "number"), text) == text


@pytest.mark.parametrize(
    ("value", "key_property", "expected"),
    [
        (123, "id", "123"),
        ("0042", "id", "42"),
        ("  Ada@Example.COM ", "email", "ada@example.com"),
        ("ACME-1", "sku", "ACME-1"),
    ],
)
def test_match_keys_are_normalised(value, key_property, expected):
    assert match_key(value, key_property) == expected


@pytest.mark.parametrize(
    ("value", "key_property"),
    [(None, "id"), ("", "email"), ("abc", "id"), (0, "id"), (True, "id"), ("no-at-sign", "email")],
)
def test_bad_match_keys_are_refused_without_quoting_them(value, key_property):
    with pytest.raises(InvalidValue) as raised:
        match_key(value, key_property)
    assert str(value) not in str(raised.value) or value in (None, "", 0, True)


@pytest.mark.parametrize(
    ("definition", "value", "wire"),
    [
        (NUMBER, "12.50", "12.5"),
        (NUMBER, "", ""),
        (BOOL, "TRUE", "true"),
        (DATE, "2025-06-01", "2025-06-01"),
        (DATE, "2025-06-01T00:00:00.000Z", "2025-06-01"),
        (DATE, "1748736000000", "2025-06-01"),
        (DATETIME, "2025-06-01", "2025-06-01T00:00:00.000Z"),
        (DATETIME, "2025-06-01T12:00:00+02:00", "2025-06-01T10:00:00.000Z"),
        (TIER, "gold", "gold"),
        (INTERESTS, "a;c", "a;c"),
        (TEXT, "Engineer", "Engineer"),
        (EMAIL, "ada@example.com", "ada@example.com"),
    ],
)
def test_values_that_fit_their_property(definition, value, wire):
    assert to_wire(definition, value) == wire


@pytest.mark.parametrize(
    ("definition", "value", "reason"),
    [
        (NUMBER, "twelve", "not a number"),
        (BOOL, "yes", "not true or false"),
        (DATE, "2025-06-01T10:30:00.000Z", "not a UTC midnight"),
        (DATE, "June 1st", "not a date or time"),
        (DATETIME, "2025-06-01T12:00:00", "needs a time zone"),
        (TIER, "platinum", "accepts only the options gold, silver"),
        (TIER, "gold;silver", "accepts only the options"),
        (INTERESTS, "a;z", "accepts only the options a, b, c"),
        (TEXT, "x" * 65_537, "at most 65536 characters"),
        (EMAIL, "not an email", "not a valid email"),
    ],
)
def test_values_that_do_not_fit_are_refused_without_the_value(definition, value, reason):
    with pytest.raises(InvalidValue, match=reason) as raised:
        to_wire(definition, value)
    assert value not in str(raised.value)


def test_definitions_from_the_properties_api():
    calculated = PropertyDefinition.from_api({"name": "hs_is_closed", "type": "bool", "calculated": True})
    read_only = PropertyDefinition.from_api(
        {"name": "createdate", "type": "datetime", "modificationMetadata": {"readOnlyValue": True}}
    )
    tier = PropertyDefinition.from_api(
        {"name": "tier", "type": "enumeration", "fieldType": "select", "options": [{"value": "gold"}]}
    )
    assert not calculated.writable
    assert not read_only.writable
    assert tier.writable
    assert tier.options == {"gold"}


def test_mapping_problems_name_column_and_property():
    definitions = {
        "usage_score": NUMBER,
        "email": EMAIL,
        "createdate": PropertyDefinition("createdate", "datetime", writable=False),
        "jobtitle": TEXT,
    }
    problems = mapping_problems(
        {"score": "usage_score", "created": "createdate", "ghost": "nope"}, "email", definitions
    )
    assert problems == [
        "column created maps to property createdate, which is read-only or calculated",
        "column ghost maps to property nope, which does not exist in HubSpot",
    ]
    assert mapping_problems({"score": "usage_score"}, "jobtitle", definitions) == [
        "key property jobtitle is not a property with unique values in HubSpot"
    ]
    assert mapping_problems({"score": "usage_score"}, "id", definitions) == []
