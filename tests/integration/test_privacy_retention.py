"""Retention: bookkeeping rows past their configured age are pruned in bounded batches, younger ones stay;
a record refused again and again is one reject row that counts, also for rows written before the change."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from hubspot_sync.migrations import MIGRATIONS_DIR, apply_migrations
from hubspot_sync.privacy.retention import prune
from hubspot_sync.privacy.settings import RetentionPolicy
from hubspot_sync.run_metrics import Reject, RunInfo, record_rejects

pytestmark = pytest.mark.integration

# One row per table, aged `%(at)s`.
ROWS = {
    "push_audit": "INSERT INTO hubspot_sync.push_audit (model, object_type, record_key, property, new_value, "
    "operation, outcome, dag_id, run_id, task_id, try_number, sent_at) "
    "VALUES ('m', 'contacts', '1', 'p', 'v', 'update', 'success', 'd', 'r', 't', 1, %(at)s)",
    "push_preview": "INSERT INTO hubspot_sync.push_preview (model, record_key, action, run_id, computed_at) "
    "VALUES ('m', '1', 'update', 'r', %(at)s)",
    "rejects": "INSERT INTO hubspot_sync.rejects (dag_id, run_id, task_id, object_type, record_id, field, "
    "reason, rejected_at, last_seen_at) "
    "VALUES ('d', 'r', 't', 'contacts', %(key)s, 'f', 'why', %(at)s, %(at)s)",
    "run_metrics": "INSERT INTO hubspot_sync.run_metrics (dag_id, run_id, task_id, started_at, status) "
    "VALUES ('d', %(key)s, 't', %(at)s, 'success')",
    "conflicts": "INSERT INTO hubspot_sync.conflicts (object_type, record_id, field, postgres_changed_at, "
    "winner, rule, detected_at) VALUES ('contacts', 1, 'f', %(at)s, 'hubspot', 'hubspot_wins', %(at)s)",
    "reconcile_findings": "INSERT INTO hubspot_sync.reconcile_findings (run_id, object_type, record_id, "
    "kind, found_at) VALUES ('r', 'contacts', 1, 'stale', %(at)s)",
}


@pytest.fixture
def db(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        apply_migrations(conn)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        yield conn


def test_rows_past_their_age_are_pruned_in_batches(db):
    policy = RetentionPolicy(batch_rows=2)
    now = datetime.now(UTC)
    for table, days in policy.ages().items():
        for n in range(5):  # three batches of old rows
            db.execute(ROWS[table], {"at": now - timedelta(days=days, hours=1 + n), "key": f"old{n}"})
        db.execute(ROWS[table], {"at": now - timedelta(days=days - 1), "key": "young"})

    deleted = prune(db, policy, now)

    assert deleted == dict.fromkeys(policy.ages(), 5)
    for table in policy.ages():
        assert db.execute(f"SELECT count(*) FROM hubspot_sync.{table}").fetchone() == (1,), table
    assert prune(db, policy, now) == dict.fromkeys(policy.ages(), 0)


def test_a_record_refused_again_is_one_row_that_counts(db):
    reject = Reject("contacts", "42", "phone", "not a phone number")
    other = Reject("contacts", None, None, "a page could not be read")
    for run_id in ("run1", "run2", "run3"):
        record_rejects(db, RunInfo("hubspot_extract", run_id, "extract_contacts"), [reject, other])

    rows = db.execute(
        "SELECT record_id, run_id, count, rejected_at < last_seen_at FROM hubspot_sync.rejects ORDER BY 1"
    ).fetchall()
    assert rows == [("42", "run3", 3, True), (None, "run3", 3, True)]


def test_the_migration_folds_earlier_duplicate_rejects(fresh_db, tmp_path):
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name < "0014":
            shutil.copy(path, earlier)
    with psycopg.connect(fresh_db) as conn:
        apply_migrations(conn, earlier)
        for day in (1, 2, 3):
            conn.execute(
                "INSERT INTO hubspot_sync.rejects (dag_id, run_id, task_id, object_type, record_id, field, "
                "reason, rejected_at) "
                "VALUES ('d', %s, 't', 'contacts', '7', 'email', 'not a valid email', %s)",
                (f"run{day}", datetime(2026, 1, day, tzinfo=UTC)),
            )
        conn.execute(
            "INSERT INTO hubspot_sync.rejects "
            "(dag_id, run_id, task_id, object_type, record_id, field, reason) "
            "VALUES ('d', 'run1', 't', 'contacts', '8', 'email', 'not a valid email')"
        )
        assert "0014_privacy" in apply_migrations(conn)
        rows = conn.execute(
            "SELECT record_id, run_id, count, rejected_at, last_seen_at FROM hubspot_sync.rejects ORDER BY 1"
        ).fetchall()
    assert rows[0] == ("7", "run3", 3, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    assert [row[:3] for row in rows[1:]] == [("8", "run1", 1)]
