"""`migrate` on a current schema: answered by reading the applied checksums, without the applier's lock."""

from __future__ import annotations

import psycopg
import pytest

from hubspot_sync.migrations import LOCK_KEY, apply_migrations, discover

pytestmark = pytest.mark.integration


def test_a_current_schema_is_not_held_up_by_another_appliers_lock(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert len(apply_migrations(conn)) == len(discover())
    with psycopg.connect(fresh_db, autocommit=True) as holder, psycopg.connect(fresh_db) as conn:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        conn.execute("SET lock_timeout = '1s'")  # an advisory lock wait would fail here, not hang
        conn.commit()
        assert apply_migrations(conn) == []


def test_a_pending_migration_still_waits_for_the_lock_and_is_applied(fresh_db, tmp_path):
    directory = tmp_path / "migrations"
    directory.mkdir()
    for migration in discover():
        (directory / f"{migration.label}.sql").write_text(migration.sql)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        apply_migrations(conn, directory)
        (directory / "9999_extra.sql").write_text("CREATE TABLE hubspot_sync.extra_for_test (id int);")
        assert apply_migrations(conn, directory) == ["9999_extra"]
        assert apply_migrations(conn, directory) == []
