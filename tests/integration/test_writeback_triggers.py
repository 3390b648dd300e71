"""Change capture of two-way columns in real PostgreSQL: what enters the outbox, and what never does."""

from datetime import UTC, datetime

import psycopg
import pytest

from hubspot_sync.extract import store
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.records import Row
from hubspot_sync.writeback import triggers

pytestmark = pytest.mark.integration
COLUMNS = {"email": "string", "jobtitle": "string", "lifecyclestage": "enumeration", "score": "number"}
TWO_WAY = ["jobtitle", "lifecyclestage", "score"]


@pytest.fixture
def conn(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        apply_migrations(connection)
        store.ensure_columns(connection, "contacts", COLUMNS)
        assert triggers.install(connection, "contacts", TWO_WAY)
        connection.execute(
            "INSERT INTO hubspot.contacts (id, updated_at, email, jobtitle, lifecyclestage) "
            "VALUES (1, now(), 'a@example.org', 'Engineer', 'lead'), "
            "(2, now(), 'b@example.org', NULL, 'lead')"
        )
        connection.execute("DELETE FROM hubspot_sync.outbox")
        yield connection


def outbox(conn):
    rows = conn.execute(
        "SELECT record_id, field, operation, value, base_value, status, changed_by, application "
        "FROM hubspot_sync.outbox ORDER BY record_id, field"
    ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_an_edit_of_a_two_way_column_is_captured_with_who_and_when(conn):
    conn.execute("SET application_name = 'crm-admin'")
    conn.execute("UPDATE hubspot.contacts SET jobtitle = 'CTO', score = 4.50 WHERE id = 1")
    captured = outbox(conn)
    assert captured == {
        (1, "jobtitle"): ("update", "CTO", "Engineer", "pending", "postgres", "crm-admin"),
        (1, "score"): ("update", 4.5, None, "pending", "postgres", "crm-admin"),
    }
    times = conn.execute("SELECT changed_at FROM hubspot_sync.outbox").fetchall()
    assert all(abs((datetime.now(UTC) - t).total_seconds()) < 60 for (t,) in times)


def test_many_edits_collapse_into_the_last_value_keeping_the_agreed_one(conn):
    for title in ("A", "B", "C"):
        with conn.transaction():
            conn.execute("UPDATE hubspot.contacts SET jobtitle = %s WHERE id = 1", (title,))
    assert outbox(conn)[(1, "jobtitle")][:2] == ("update", "C")
    assert outbox(conn)[(1, "jobtitle")][2] == "Engineer"  # base: what HubSpot last held
    # Once pushed, the next edit starts from the pushed value.
    conn.execute("UPDATE hubspot_sync.outbox SET status = 'synced'")
    conn.execute("UPDATE hubspot.contacts SET jobtitle = 'D' WHERE id = 1")
    assert outbox(conn)[(1, "jobtitle")][1:4] == ("D", "C", "pending")


def test_columns_that_are_not_two_way_and_unchanged_values_are_ignored(conn):
    conn.execute("UPDATE hubspot.contacts SET email = 'new@example.org', jobtitle = jobtitle WHERE id = 1")
    assert outbox(conn) == {}


def test_the_extractions_own_writes_are_never_captured(conn):
    landed = Row(
        id=1,
        updated_at=datetime(2030, 1, 1, tzinfo=UTC),
        created_at=None,
        archived=False,
        archived_at=None,
        properties={"jobtitle": "From HubSpot"},
        typed={"email": "a@example.org", "jobtitle": "From HubSpot", "lifecyclestage": "customer"},
    )
    with conn.transaction():
        store.upsert_rows(conn, "contacts", [landed], list(COLUMNS), "run-1")
    assert conn.execute("SELECT jobtitle FROM hubspot.contacts WHERE id = 1").fetchone() == ("From HubSpot",)
    assert outbox(conn) == {}
    # The setting ends with the extraction's transaction: the next edit is captured again.
    conn.execute("UPDATE hubspot.contacts SET jobtitle = 'Edited' WHERE id = 1")
    assert outbox(conn)[(1, "jobtitle")][:3] == ("update", "Edited", "From HubSpot")


def test_inserts_without_an_id_become_creates_and_archiving_is_captured(conn):
    new_id = conn.execute(
        "INSERT INTO hubspot.contacts (email, jobtitle) VALUES ('new@example.org', 'Founder') RETURNING id"
    ).fetchone()[0]
    assert new_id < 0
    conn.execute("UPDATE hubspot.contacts SET jobtitle = 'CEO' WHERE id = %s", (new_id,))
    conn.execute("UPDATE hubspot.contacts SET archived = true WHERE id = 2")
    captured = outbox(conn)
    assert captured == {
        (new_id, ""): ("create", None, None, "pending", "postgres", ""),
        (2, ""): ("archive", None, None, "pending", "postgres", ""),
    }
    key = conn.execute(
        "SELECT create_key FROM hubspot_sync.outbox WHERE record_id = %s", (new_id,)
    ).fetchone()
    assert key[0] is not None


def test_edits_notify_once_per_transaction(conn, fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as listener:
        listener.execute("LISTEN hubspot_sync_outbox")
        with conn.transaction():
            conn.execute("UPDATE hubspot.contacts SET jobtitle = 'X' WHERE id = 1")
            conn.execute("UPDATE hubspot.contacts SET lifecyclestage = 'customer' WHERE id = 2")
        notices = list(listener.notifies(timeout=2, stop_after=5))
    assert [notice.payload for notice in notices] == ["contacts"]


def test_reinstalling_follows_the_configuration(conn):
    assert not triggers.install(conn, "contacts", list(reversed(TWO_WAY)))  # unchanged: nothing done
    assert triggers.install(conn, "contacts", ["lifecyclestage"])
    assert triggers.installed_columns(conn, "contacts") == ("lifecyclestage",)
    conn.execute("UPDATE hubspot.contacts SET jobtitle = 'Ignored', lifecyclestage = 'customer' WHERE id = 1")
    assert set(outbox(conn)) == {(1, "lifecyclestage")}
    assert triggers.install(conn, "contacts", [])
    assert triggers.installed_columns(conn, "contacts") is None
    conn.execute("UPDATE hubspot.contacts SET lifecyclestage = 'lead' WHERE id = 1")
    assert outbox(conn)[(1, "lifecyclestage")][1] == "customer"


def test_a_settled_value_never_overwrites_a_newer_edit(conn):
    from hubspot_sync.writeback import store as writeback_store

    conn.execute("UPDATE hubspot.contacts SET jobtitle = 'First' WHERE id = 1")
    (first,) = conn.execute("SELECT changed_at FROM hubspot_sync.outbox WHERE record_id = 1").fetchone()
    conn.execute("UPDATE hubspot.contacts SET jobtitle = 'Second' WHERE id = 1")
    with conn.transaction():
        writeback_store.as_writeback(conn)
        assert writeback_store.set_column(conn, "contacts", "jobtitle", {1: ("From HubSpot", first)}) == 0
    (second,) = conn.execute("SELECT changed_at FROM hubspot_sync.outbox WHERE record_id = 1").fetchone()
    with conn.transaction():
        writeback_store.as_writeback(conn)
        assert writeback_store.set_column(conn, "contacts", "jobtitle", {1: ("From HubSpot", second)}) == 1
    assert conn.execute("SELECT jobtitle FROM hubspot.contacts WHERE id = 1").fetchone() == ("From HubSpot",)
    assert outbox(conn)[(1, "jobtitle")][1] == "Second"  # the write-back's own write is not an edit
