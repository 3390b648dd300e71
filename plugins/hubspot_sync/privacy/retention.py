"""Retention: bookkeeping rows past their configured age are deleted in bounded batches.

Each batch is one short statement in its own transaction (a TID scan of at most `batch_rows` rows
found through the age index), so the sync's own writers and readers are never held up for long and
a stopped prune has kept everything it did. Ages come from `retention:` (settings.py).

Not responsible for: erasure (store.py), scheduling (the operator, in hubspot_reconcile).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from hubspot_sync.privacy.settings import RetentionPolicy
from hubspot_sync.sql import load_sql

# The time each table ages by.
AGE_COLUMNS = {
    "push_audit": "sent_at",
    "push_preview": "computed_at",
    "rejects": "last_seen_at",
    "run_metrics": "started_at",
    "conflicts": "detected_at",
    "reconcile_findings": "found_at",
}


def prune(conn: psycopg.Connection, policy: RetentionPolicy, now: datetime) -> dict[str, int]:
    """Delete what is older than the policy allows on `conn` (autocommit); rows deleted per table."""
    conn.autocommit = True
    deleted = {}
    for table, days in policy.ages().items():
        statement = sql.SQL(load_sql("privacy/prune")).format(
            table=sql.Identifier("hubspot_sync", table), column=sql.Identifier(AGE_COLUMNS[table])
        )
        cutoff = now - timedelta(days=days)
        deleted[table] = 0
        while True:
            rows = conn.execute(statement, {"cutoff": cutoff, "batch_rows": policy.batch_rows}).rowcount
            deleted[table] += rows
            if rows < policy.batch_rows:
                break
    return deleted
