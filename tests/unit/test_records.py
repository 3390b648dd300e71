from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hubspot_sync.records import RowRules, to_row

RULES = RowRules(
    object_type="contacts",
    last_modified_property="lastmodifieddate",
    column_types={"email": "string", "num_employees": "number", "closedate": "datetime"},
    required=("email",),
    email_properties=("email",),
)


def record(**properties):
    return {
        "id": "101",
        "properties": {"lastmodifieddate": "2025-03-01T10:00:00.123Z", **properties},
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-03-01T10:00:00.123Z",
        "archived": False,
    }


def test_clean_record_becomes_a_typed_row():
    row, rejects = to_row(
        record(email=" ada@example.com ", num_employees="12", closedate="", custom_x="  y "), RULES
    )
    assert rejects == []
    assert row.id == 101
    assert row.updated_at == datetime(2025, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert row.typed == {"email": "ada@example.com", "num_employees": Decimal(12), "closedate": None}
    assert row.properties["custom_x"] == "y"
    assert row.properties["closedate"] is None


def test_value_that_does_not_fit_is_rejected_but_the_record_is_kept():
    row, rejects = to_row(record(email="ada@example.com", num_employees="lots"), RULES)
    assert row is not None
    assert row.typed["num_employees"] is None
    assert row.properties["num_employees"] == "lots"  # nothing is lost
    assert [(r.record_id, r.field) for r in rejects] == [("101", "num_employees")]
    assert "not a number" in rejects[0].reason


def test_malformed_email_and_missing_required_are_named():
    _, rejects = to_row(record(email="not-an-email"), RULES)
    assert [(r.field, r.reason) for r in rejects] == [("email", "not a valid email address")]
    _, rejects = to_row(record(email="  "), RULES)
    assert [(r.field, r.reason) for r in rejects] == [("email", "required property has no value")]


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"id": None}, "id"),
        ({"id": "abc"}, "id"),
        ({"properties": None}, "properties"),
        ({"updatedAt": None, "properties": {"lastmodifieddate": "soon"}}, "lastmodifieddate"),
    ],
)
def test_unplaceable_record_is_rejected_whole(broken, field):
    row, rejects = to_row({**record(email="ada@example.com"), **broken}, RULES)
    assert row is None
    assert [r.field for r in rejects] == [field]


def test_merged_ids_exclude_the_survivor():
    row, _ = to_row(record(email="ada@example.com", hs_merged_object_ids="7;101; 9 ;x"), RULES)
    assert row.merged_ids == [7, 9]
