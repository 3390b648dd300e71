from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hubspot_sync.values import InvalidValue, clean, is_email, parse_typed


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, None), ("", None), ("   ", None), ("  Ada ", "Ada"), (12, "12")]
)
def test_clean_trims_and_empties_to_none(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize(
    ("text", "property_type", "expected"),
    [
        ("12.50", "number", Decimal("12.50")),
        ("-3", "number", Decimal("-3")),
        ("true", "bool", True),
        ("FALSE", "bool", False),
        ("2020-02-29", "date", date(2020, 2, 29)),
        ("1582934400000", "date", date(2020, 2, 29)),  # epoch ms at midnight: seen in the wild
        ("2020-02-29T00:00:00.000Z", "date", date(2020, 2, 29)),
        ("2020-02-29T03:30:17.000Z", "datetime", datetime(2020, 2, 29, 3, 30, 17, tzinfo=UTC)),
        ("2020-02-29T05:30:17+02:00", "datetime", datetime(2020, 2, 29, 3, 30, 17, tzinfo=UTC)),
        ("1582947017000", "datetime", datetime(2020, 2, 29, 3, 30, 17, tzinfo=UTC)),
        ("a; b;;c ", "multi_enumeration", ["a", "b", "c"]),
        ("anything", "string", "anything"),
        ("+1 555", "phone_number", "+1 555"),
    ],
)
def test_parse_typed(text, property_type, expected):
    assert parse_typed(text, property_type) == expected


@pytest.mark.parametrize(
    ("text", "property_type", "reason"),
    [
        ("twelve", "number", "not a number"),
        ("NaN", "number", "not a finite number"),
        ("yes", "bool", "not a boolean"),
        ("29/02/2020", "date", "not a date"),
        ("2020-02-29T03:30:17Z", "date", "must be midnight UTC"),
        ("yesterday", "datetime", "not a datetime"),
    ],
)
def test_invalid_values_give_a_reason_without_the_value(text, property_type, reason):
    with pytest.raises(InvalidValue) as raised:
        parse_typed(text, property_type)
    assert reason in str(raised.value)
    assert text not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("ada@example.com", True),
        ("a.b+c@sub.example.co", True),
        ("ada@", False),
        ("ada example.com", False),
        ("ada@example", False),
        ("@example.com", False),
    ],
)
def test_email_format(text, valid):
    assert is_email(text) is valid


@pytest.mark.parametrize("text", ["ada@example.com", "ada@example.", "ada@example", "a b@example.com"])
def test_extraction_and_reverse_etl_agree_on_emails(text):
    from hubspot_sync.reverse_etl.values import PropertyDefinition, to_wire

    email = PropertyDefinition("email", "string", unique=True)
    try:
        to_wire(email, text)
        sendable = True
    except InvalidValue:
        sendable = False
    assert sendable is is_email(text)
