"""Pure decisions of the write-back: wire values, HubSpot's side from history, and conflict rules."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hubspot_sync.values import InvalidValue
from hubspot_sync.writeback.rules import (
    Decision,
    HubSpotField,
    PendingEdit,
    clock_offset,
    decide,
    hubspot_field,
    same,
    to_json,
    to_wire,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("property_type", "value", "wire"),
    [
        ("string", "CTO", "CTO"),
        ("string", None, ""),
        ("number", Decimal("10.50"), "10.5"),
        ("number", 3, "3"),
        ("bool", True, "true"),
        ("date", "2026-03-01", "2026-03-01"),
        ("datetime", "2026-03-01T13:00:00+01:00", "2026-03-01T12:00:00.000Z"),
        ("multi_enumeration", ["a", "b"], "a;b"),
        ("enumeration", "lead", "lead"),
    ],
)
def test_column_values_go_on_the_wire_as_hubspot_writes_them(property_type, value, wire):
    assert to_wire(property_type, value) == wire


def test_a_value_that_cannot_be_sent_says_why_without_repeating_it():
    with pytest.raises(InvalidValue) as error:
        to_wire("datetime", "no-date-here")
    assert "no-date-here" not in str(error.value)


@pytest.mark.parametrize(
    ("property_type", "left", "right"),
    [
        ("number", "10.5", "10.50"),
        ("datetime", "2026-03-01T12:00:00.000Z", "1772366400000"),
        ("multi_enumeration", "a;b", "b;a"),
        ("string", "", None),
    ],
)
def test_equal_values_in_other_spellings_are_the_same(property_type, left, right):
    assert same(property_type, left, right)


def test_hubspot_values_become_json_a_column_takes():
    assert to_json("number", "10.50") == "10.50"
    assert to_json("bool", "true") is True
    assert to_json("multi_enumeration", "a;b") == ["a", "b"]
    assert to_json("string", "") is None


def test_hubspot_side_comes_from_the_newest_history_entry_on_the_database_clock():
    record = {
        "properties": {"jobtitle": "CTO"},
        "propertiesWithHistory": {
            "jobtitle": [
                {"value": "CEO", "timestamp": "2026-03-01T11:00:00.000Z", "sourceType": "IMPORT"},
                {"value": "CTO", "timestamp": "2026-03-01T12:00:00.000Z", "sourceType": "CRM_UI"},
            ]
        },
    }
    side = hubspot_field(record, "jobtitle", timedelta(seconds=30))
    assert side == HubSpotField("CTO", T0 - timedelta(seconds=30), "CRM_UI")
    assert hubspot_field({"properties": {}}, "jobtitle", timedelta(0)) == HubSpotField(None, None)


@pytest.mark.parametrize(
    ("header_offset", "expected"),
    [
        (timedelta(seconds=-0.4), timedelta(0)),
        (timedelta(seconds=1.2), timedelta(0)),
        (timedelta(minutes=5), None),
    ],
)
def test_clock_offsets_within_the_date_headers_precision_are_ignored(header_offset, expected):
    database_now = T0
    measured = clock_offset(database_now + header_offset, database_now)
    if expected is None:
        assert measured == header_offset + timedelta(milliseconds=500)
    else:
        assert measured == expected
    assert clock_offset(None, database_now) == timedelta(0)


def edit(value="pg", base="agreed", changed_at=T0, sent_value=None, sent_at=None):
    return PendingEdit(1, "jobtitle", value, base, changed_at, sent_value, sent_at)


EARLIER, LATER = T0 - timedelta(minutes=1), T0 + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("rule", "pending", "hubspot", "decision"),
    [
        # HubSpot already holds the value: never sent, whatever the rule.
        ("hubspot_wins", edit(), HubSpotField("pg", LATER), Decision.ALREADY_THERE),
        # Only PostgreSQL changed the field: pushed, unless HubSpot is the source of truth.
        ("postgres_wins", edit(), HubSpotField("agreed", EARLIER), Decision.PUSH),
        ("last_write_wins", edit(base=None), HubSpotField(None, None), Decision.PUSH),
        ("hubspot_wins", edit(), HubSpotField("agreed", EARLIER), Decision.HUBSPOT_WINS),
        # Both changed it: the rule decides.
        ("hubspot_wins", edit(), HubSpotField("hs", EARLIER), Decision.HUBSPOT_WINS),
        ("postgres_wins", edit(), HubSpotField("hs", LATER), Decision.POSTGRES_WINS),
        ("last_write_wins", edit(), HubSpotField("hs", EARLIER), Decision.POSTGRES_WINS),
        ("last_write_wins", edit(), HubSpotField("hs", LATER), Decision.HUBSPOT_WINS),
        ("last_write_wins", edit(), HubSpotField("hs", None), Decision.POSTGRES_WINS),
        # HubSpot holds what an earlier push sent (its answer lost), then PostgreSQL changed again:
        # our own write coming back is no HubSpot edit.
        ("postgres_wins", edit(sent_value="sent", sent_at=EARLIER), HubSpotField("sent", T0), Decision.PUSH),
        # ...but the same value written by someone else before our push is.
        (
            "postgres_wins",
            edit(sent_value="sent", sent_at=T0),
            HubSpotField("sent", EARLIER),
            Decision.POSTGRES_WINS,
        ),
    ],
)
def test_decisions(rule, pending, hubspot, decision):
    assert decide(rule, "string", pending, hubspot) is decision
