"""Versioned SQL migrations from include/sql/migrations, applied in order, once, under an advisory lock.

Each file `NNNN_description.sql` runs in its own transaction together with the row that records it in
`hubspot_sync.schema_migrations`, so a failing migration leaves nothing behind and is retried next time.
Whichever task starts first applies what is pending; the others wait on the lock, then find nothing to do.
When every file is applied unchanged, one query says so and no lock is taken.
An applied file whose content changed is refused: edit the schema with a new migration instead.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from hubspot_sync import SQL_DIR

log = logging.getLogger(__name__)

MIGRATIONS_DIR = SQL_DIR / "migrations"
# pg_advisory_lock key shared by every applier: the first 8 bytes of sha256("hubspot_sync.migrations").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"hubspot_sync.migrations").digest()[:8], "big", signed=True)
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """A migration could not be applied, or the applied history disagrees with the files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_description.sql")
        migrations.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [migration.version for migration in migrations]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"{directory}: two migration files share a version number")
    return migrations


def apply_migrations(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations on `conn` (switched to autocommit); return the ones this call applied."""
    migrations = discover(directory)
    applied_now = []
    conn.autocommit = True
    # The usual case, every file applied as it is: one query, and no wait behind another applier's lock.
    if _applied_checksums(conn) == {migration.version: migration.checksum for migration in migrations}:
        return applied_now
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        applied = _applied_checksums(conn)
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.label} was changed after it was applied; "
                        "restore the file and put the change in a new migration"
                    )
                continue
            _apply(conn, migration)
            applied_now.append(migration.label)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied_now


def _applied_checksums(conn: psycopg.Connection) -> dict[int, str]:
    exists = conn.execute("SELECT to_regclass('hubspot_sync.schema_migrations') IS NOT NULL").fetchone()
    if not exists[0]:
        return {}
    rows = conn.execute("SELECT version, checksum FROM hubspot_sync.schema_migrations").fetchall()
    return dict(rows)


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    label = migration.label
    log.info("Applying migration %s", label)
    try:
        with conn.transaction():
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO hubspot_sync.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.Error as error:
        raise MigrationError(f"migration {label} failed and was rolled back: {error}") from error
