"""The landing path of extraction against real PostgreSQL: what it refuses, it names without values."""

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from hubspot_sync.extract import store
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.records import Row

pytestmark = pytest.mark.integration
SECRET = "Sensitive-Value-42"
COLUMNS = {"jobtitle": "string", "usage_score": "number", "signup": "datetime"}


@pytest.fixture
def conn(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        apply_migrations(connection)
        store.ensure_columns(connection, "contacts", COLUMNS)
        yield connection


def row(record_id, properties=None, **typed):
    return Row(
        id=record_id,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        created_at=None,
        archived=False,
        archived_at=None,
        properties={"jobtitle": SECRET, **(properties or {})},
        typed={"jobtitle": SECRET, "usage_score": Decimal(1), "signup": None, **typed},
    )


# Values to_row never lets through: here they are handed to the landing path directly.
HOSTILE = [
    pytest.param(
        row(2, usage_score=Decimal("1e1000000")), "usage_score", "NumericValueOutOfRange", id="numeric"
    ),
    # psycopg refuses this one itself, before PostgreSQL sees it: the row is known, the column is not.
    pytest.param(row(2, jobtitle=SECRET + "\x00"), None, "DataError", id="nul-in-text-column"),
    pytest.param(row(2, {"jobtitle": SECRET + "\x00"}), "properties", "", id="nul-in-jsonb"),
    pytest.param(row(2, {"x": "\ud800" + SECRET}), "properties", "", id="lone-surrogate-in-jsonb"),
]


@pytest.mark.parametrize(("bad", "column", "condition"), HOSTILE)
def test_a_refused_batch_names_record_and_column_but_no_value(conn, bad, column, condition):
    with pytest.raises(store.BatchRefused) as raised, conn.transaction():
        store.upsert_rows(conn, "contacts", [row(1), bad, row(3)], list(COLUMNS), "run-1")
    message = str(raised.value)
    assert "record 2" in message
    assert raised.value.record_id == 2
    assert raised.value.column == column
    assert condition in message
    assert SECRET not in message
    assert "1000000" not in message
    assert raised.value.__suppress_context__  # psycopg's DETAIL/CONTEXT (which quote the row) stay out


@pytest.mark.parametrize(("bad", "column", "condition"), HOSTILE)
def test_the_rest_of_the_batch_lands_and_the_refused_part_is_a_reject(conn, bad, column, condition):
    with conn.transaction():
        written, rejects, landed = store.upsert_rows_isolating(
            conn, "contacts", [row(1), bad, row(3)], list(COLUMNS), "r"
        )
    stored = dict(conn.execute("SELECT id, usage_score FROM hubspot.contacts").fetchall())
    assert [(r.record_id, r.field) for r in rejects] == [("2", column)]
    assert SECRET not in rejects[0].reason
    if column == "usage_score":  # a typed value is refused alone: the record lands without it
        assert written == 3
        assert stored == {1: Decimal(1), 2: None, 3: Decimal(1)}
        assert [row.id for row in landed] == [1, 2, 3]
    else:
        assert written == 2
        assert set(stored) == {1, 3}
        assert [row.id for row in landed] == [1, 3]  # what is not stored is not marked merged either
