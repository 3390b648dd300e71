"""Least privilege against a real PostgreSQL: the roles script run as a superuser, then one login per role
checks what it can and cannot do."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hubspot_sync.config import load_config
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.privacy.roles import roles_sql
from hubspot_sync.writeback import triggers
from scripts.pg import with_database

pytestmark = pytest.mark.integration
GROUPS = {"sync": "hubspot_sync_owner", "analyst": "hubspot_analyst", "writer": "hubspot_writer"}


@pytest.fixture(scope="module")
def logins(pg_url):
    """Apply migrations and typed columns as the administrator, run the roles script, and return one
    connection URL per role (a login member of it; the sync login acts as the owning role)."""
    suffix = uuid.uuid4().hex[:8]
    database = f"hs_test_roles_{suffix}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = with_database(pg_url, database)
    users = {kind: f"hubspot_test_{kind}_{suffix}" for kind in GROUPS}
    with psycopg.connect(url, autocommit=True) as admin:
        apply_migrations(admin)
        admin.execute(
            "ALTER TABLE hubspot.contacts ADD COLUMN email text, ADD COLUMN jobtitle text, "
            "ADD COLUMN lifecyclestage text"
        )
        admin.execute("ALTER TABLE hubspot.deals ADD COLUMN dealstage text, ADD COLUMN amount numeric")
        triggers.install(admin, "contacts", ["jobtitle", "lifecyclestage"])
        admin.execute(
            "INSERT INTO hubspot.contacts (id, email, jobtitle, updated_at) "
            "VALUES (1, 'a@example.com', 'CTO', now())"
        )
        admin.execute(
            "INSERT INTO hubspot.deals (id, dealstage, amount, updated_at) VALUES (2, 'won', 10, now())"
        )
        admin.execute(
            "INSERT INTO hubspot_sync.push_audit (model, object_type, record_key, property, new_value, "
            "operation, outcome, dag_id, run_id, task_id, try_number) "
            "VALUES ('m', 'contacts', '1', 'p', 'secret', 'update', 'success', 'd', 'r', 't', 1)"
        )
        admin.execute(roles_sql(load_config()))
        for kind, user in users.items():
            admin.execute(f'CREATE ROLE "{user}" LOGIN IN ROLE {GROUPS[kind]}')
        admin.execute(f"ALTER ROLE \"{users['sync']}\" SET role = 'hubspot_sync_owner'")
    params = conninfo_to_dict(url)
    yield {"admin": url} | {kind: make_conninfo(**{**params, "user": user}) for kind, user in users.items()}
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for user in users.values():
            admin.execute(f'DROP ROLE "{user}"')


def denied(url: str, statement: str) -> bool:
    """Whether PostgreSQL refuses `statement` for lack of privilege; what it did is rolled back."""
    with psycopg.connect(url) as conn:
        try:
            conn.execute(statement)
        except errors.InsufficientPrivilege:
            return True
        finally:
            conn.rollback()
    return False


def test_the_sync_role_owns_the_two_schemas_and_nothing_else(logins):
    with psycopg.connect(logins["sync"], autocommit=True) as conn:
        assert apply_migrations(conn) == []
        conn.execute("CREATE TABLE hubspot_sync.scratch (id int)")
        conn.execute("UPDATE hubspot.contacts SET email = email WHERE id = 1")
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname IN ('hubspot', 'hubspot_sync')"
        ).fetchall()
    assert owners == [("hubspot_sync_owner",)]
    assert denied(logins["sync"], "CREATE SCHEMA elsewhere")
    assert denied(logins["sync"], "CREATE TABLE public.elsewhere (id int)")
    assert denied(logins["sync"], "CREATE ROLE someone")


@pytest.mark.parametrize(
    ("kind", "statement", "allowed"),
    [
        ("analyst", "SELECT email, jobtitle FROM hubspot.contacts", True),
        ("analyst", "SELECT * FROM hubspot.deals", True),
        ("analyst", "SELECT new_value FROM hubspot_sync.push_audit", False),
        ("analyst", "SELECT * FROM hubspot_sync.rejects", False),
        ("analyst", "SELECT * FROM hubspot_sync.outbox", False),
        ("analyst", "UPDATE hubspot.contacts SET jobtitle = 'x'", False),
        ("analyst", "DELETE FROM hubspot.contacts", False),
        ("writer", "SELECT * FROM hubspot.contacts", True),
        ("writer", "UPDATE hubspot.contacts SET jobtitle = 'CEO' WHERE id = 1", True),
        ("writer", "UPDATE hubspot.deals SET dealstage = 'lost' WHERE id = 2", True),
        ("writer", "UPDATE hubspot.contacts SET email = 'x@example.com' WHERE id = 1", False),
        ("writer", "UPDATE hubspot.deals SET amount = 1 WHERE id = 2", False),
        ("writer", "INSERT INTO hubspot.contacts (email) VALUES ('new@example.com')", False),
        ("writer", "DELETE FROM hubspot.contacts", False),
        ("writer", "SELECT new_value FROM hubspot_sync.push_audit", False),
        ("writer", "SELECT * FROM hubspot_sync.rejects", False),
        ("writer", "SELECT * FROM hubspot_sync.contacts_sync_status", True),
    ],
)
def test_what_each_role_may_do(logins, kind, statement, allowed):
    assert denied(logins[kind], statement) is not allowed


def test_a_writer_edit_is_captured_for_write_back(logins):
    with psycopg.connect(logins["writer"], autocommit=True) as conn:
        conn.execute("UPDATE hubspot.contacts SET jobtitle = 'CEO' WHERE id = 1")
    with psycopg.connect(logins["admin"]) as admin:
        row = admin.execute("SELECT field, value, status, changed_by FROM hubspot_sync.outbox").fetchone()
    assert row[:3] == ("jobtitle", "CEO", "pending")
    assert row[3].startswith("hubspot_test_writer_")
