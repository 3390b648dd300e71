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


def test_text_postgresql_cannot_hold_is_kept_without_what_it_refuses_and_rejected():
    row, rejects = to_row(
        record(email="ada@example.com", jobtitle="CEO\x00x", custom_x="a\ud800b", **{"odd\x00name": "v"}),
        RULES,
    )
    assert row.properties["jobtitle"] == "CEOx"
    assert row.properties["custom_x"] == "a\ufffdb"
    assert row.properties["oddname"] == "v"
    assert {(r.field, r.reason.split(",")[0]) for r in rejects} == {
        ("jobtitle", "text contains NUL characters (removed)"),
        ("custom_x", "text contains unpaired UTF-16 surrogates (replaced by U+FFFD)"),
        ("oddname", "property name: text contains NUL characters (removed)"),
    }
    assert all(r.record_id == "101" and "CEO" not in r.reason for r in rejects)


def test_a_nul_only_value_is_no_value():
    row, rejects = to_row(record(email="\x00"), RULES)
    assert row.properties["email"] is None
    assert {r.field for r in rejects} == {"email"}  # stripped, then required and missing


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("num_employees", "1e1000000"),
        ("closedate", "0001-01-01T00:00:00+01:00"),
        ("closedate", "-99999999999999"),
    ],
)
def test_a_value_beyond_postgresql_range_nulls_only_its_column(column, value):
    row, rejects = to_row(record(**{"email": "ada@example.com", "num_employees": "3", column: value}), RULES)
    assert row.typed[column] is None
    assert row.properties[column] == value
    assert row.typed["email"] == "ada@example.com"
    assert [r.field for r in rejects] == [column]


@pytest.mark.parametrize("raw_id", [str(2**63), "9" * 30, "1\x00"])
def test_an_id_beyond_bigint_is_refused_and_quoted_storably(raw_id):
    row, rejects = to_row({**record(email="ada@example.com"), "id": raw_id}, RULES)
    assert row is None
    assert rejects[0].field == "id"
    assert "\x00" not in rejects[0].record_id
