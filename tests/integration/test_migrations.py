import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from hubspot_sync.migrations import MIGRATIONS_DIR, MigrationError, apply_migrations, discover

pytestmark = pytest.mark.integration


def migrations_dir(tmp_path: Path, extra: dict[str, str]) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    for name, sql in extra.items():
        (directory / name).write_text(sql)
    return directory


def ledger(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT version, name FROM hubspot_sync.schema_migrations ORDER BY version"
        ).fetchall()


def test_first_migration_creates_schemas_and_tables_once(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        applied = apply_migrations(conn)
        assert applied == [migration.label for migration in discover()]
        assert apply_migrations(conn) == []
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema IN ('hubspot', 'hubspot_sync')"
            )
        }
        schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}
    assert {"hubspot", "hubspot_sync"} <= schemas
    assert {"hubspot_sync.schema_migrations", "hubspot_sync.run_metrics", "hubspot_sync.rejects"} <= tables
    assert ledger(fresh_db)[0] == (1, "initial")


def test_concurrent_appliers_apply_each_migration_exactly_once(fresh_db, tmp_path):
    # The slow migration keeps the first applier inside the lock while the second one arrives.
    directory = migrations_dir(
        tmp_path, {"9001_slow.sql": "SELECT pg_sleep(1); CREATE TABLE hubspot.slow_marker (id int);"}
    )
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def applier():
        try:
            with psycopg.connect(fresh_db) as conn:
                results.append(apply_migrations(conn, directory))
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)

    threads = [threading.Thread(target=applier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    applied_by_both = sorted(label for result in results for label in result)
    assert applied_by_both == [migration.label for migration in discover(directory)]
    assert sorted(len(result) for result in results)[0] == 0  # the second found nothing to do
    assert [version for version, _ in ledger(fresh_db)] == [m.version for m in discover(directory)]


def test_failed_migration_leaves_no_partial_state_and_is_retried(fresh_db, tmp_path):
    directory = migrations_dir(
        tmp_path,
        {"9001_broken.sql": "CREATE TABLE hubspot.half_done (id int);\nSELECT * FROM no_such_table;"},
    )
    with psycopg.connect(fresh_db) as conn, pytest.raises(MigrationError, match=r"9001_broken .*rolled back"):
        apply_migrations(conn, directory)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('hubspot.half_done')").fetchone()[0] is None
    assert [version for version, _ in ledger(fresh_db)] == [m.version for m in discover()]

    (directory / "9001_broken.sql").write_text("CREATE TABLE hubspot.half_done (id int);")
    with psycopg.connect(fresh_db) as conn:
        assert apply_migrations(conn, directory) == ["9001_broken"]


def test_edited_applied_migration_is_refused(fresh_db, tmp_path):
    directory = migrations_dir(tmp_path, {})
    with psycopg.connect(fresh_db) as conn:
        apply_migrations(conn, directory)
    first = sorted(directory.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with (
        psycopg.connect(fresh_db) as conn,
        pytest.raises(MigrationError, match=r"changed after it was applied"),
    ):
        apply_migrations(conn, directory)


def test_badly_named_migration_file_is_refused(tmp_path):
    directory = migrations_dir(tmp_path, {"add_things.sql": "SELECT 1"})
    with pytest.raises(MigrationError, match=r"NNNN_description\.sql"):
        discover(directory)
