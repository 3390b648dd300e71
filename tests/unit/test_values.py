from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hubspot_sync.values import InvalidValue, clean, is_email, parse_typed, storable_text


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


@pytest.mark.parametrize(
    ("text", "property_type", "reason"),
    [
        ("1e1000000", "number", "outside PostgreSQL numeric's range"),
        ("1e131072", "number", "outside PostgreSQL numeric's range"),
        ("1.5e-16383", "number", "outside PostgreSQL numeric's range"),
        ("1e99999999999999999999", "number", "not a number"),
        ("-99999999999999", "datetime", "outside the years 1 to 9999"),
        ("-62135596800001", "datetime", "outside the years 1 to 9999"),
        ("0001-01-01T00:00:00+01:00", "datetime", "outside the years 1 to 9999"),
        ("9999-12-31T23:00:00-05:00", "datetime", "outside the years 1 to 9999"),
        ("0001-01-01T00:00:00+01:00", "date", "outside the years 1 to 9999"),
        ("-99999999999999", "date", "outside the years 1 to 9999"),
    ],
)
def test_values_postgresql_cannot_hold_are_invalid_with_a_reason(text, property_type, reason):
    with pytest.raises(InvalidValue) as raised:
        parse_typed(text, property_type)
    assert reason in str(raised.value)
    assert text not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "property_type", "expected"),
    [
        ("1e131071", "number", Decimal("1e131071")),  # the largest magnitude numeric holds
        ("1e-16383", "number", Decimal("1e-16383")),
        ("-62135596800000", "datetime", datetime(1, 1, 1, tzinfo=UTC)),
        ("99999999999999", "datetime", datetime(5138, 11, 16, 9, 46, 39, 999000, tzinfo=UTC)),  # exact ms
        ("9999-12-31T23:59:59.999Z", "datetime", datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_values_at_the_edge_of_the_range_are_kept(text, property_type, expected):
    assert parse_typed(text, property_type) == expected


@pytest.mark.parametrize(
    ("text", "stored", "reason"),
    [
        ("plain", "plain", None),
        ("CEO\x00x", "CEOx", "NUL characters (removed)"),
        ("a\ud800b", "a\ufffdb", "unpaired UTF-16 surrogates (replaced by U+FFFD)"),
        ("\x00\udfff", "\ufffd", "NUL characters (removed) and unpaired UTF-16 surrogates"),
        ("emoji \U0001f600 stays", "emoji \U0001f600 stays", None),
    ],
)
def test_storable_text_removes_nul_and_replaces_lone_surrogates(text, stored, reason):
    result, problem = storable_text(text)
    assert result == stored
    result.encode("utf-8")  # nothing PostgreSQL's UTF-8 text would refuse is left
    assert (problem is None) if reason is None else (reason in problem and text not in problem)
