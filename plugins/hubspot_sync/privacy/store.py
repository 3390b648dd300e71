"""Warehouse side of erasure: find a contact's rows, remove them and every copy of their values, leave
a tombstone; the queue of erasure requests.

An erased record leaves only `hubspot_sync.erasures` (object type, id, reason, time). Its mirror row
and association rows go (through reconciliation's own removal), together with the rows merged into it
(the same person's earlier records), and every copy the sync keeps of its values: the write-back outbox
and conflicts, rejects, reverse-ETL state, audit and preview (keyed by id or by email), reconciliation
findings of earlier runs and the deletion audit. One transaction: all of it or none.

Not responsible for: calling HubSpot (engine.py), retention (retention.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from hubspot_sync.extract.store import table_id
from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.reconcile import store as reconcile_store
from hubspot_sync.sql import load_sql

# Object types whose records are people: a record HubSpot deleted for good is erased, not just removed.
PERSONAL_OBJECT_TYPES = frozenset({"contacts"})
REASONS = ("deleted_in_hubspot", "erasure_request")


@dataclass(frozen=True)
class OpenRequest:
    request_id: int
    email: str | None
    contact_id: int | None


@dataclass
class Erased:
    """What one erasure removed: ids of the mirror rows, and rows per hubspot_sync table."""

    ids: list[int]
    copies: dict[str, int]


def erase(
    conn: psycopg.Connection,
    object_type: str,
    ids: Iterable[int],
    *,
    reason: str,
    models: Iterable[str] = (),
    emails: Iterable[str] = (),
    run_id: str | None = None,
    request_id: int | None = None,
) -> Erased:
    """Erase `ids` (and rows merged into them) in the caller's transaction.

    `models` are the reverse-ETL models writing `object_type` (their previews are keyed by id);
    `emails` adds addresses to look for beyond those the rows hold (a request's own).
    """
    if reason not in REASONS:
        raise ValueError(f"erasure reason {reason!r} is not one of {', '.join(REASONS)}")
    ids = list(ids)
    targets = conn.execute(
        sql.SQL(load_sql("privacy/erase_targets")).format(
            table=table_id(object_type), email_column=_email_column(conn, object_type)
        ),
        {"ids": list(ids)},
    ).fetchall()
    all_ids = sorted({record_id for record_id, _ in targets})
    all_emails = sorted({e.strip() for _, found in targets for e in found if e and e.strip()} | set(emails))
    if not all_ids and not all_emails:
        return Erased([], {})
    removed = (
        reconcile_store.delete_records(conn, object_type, all_ids, run_id or "erasure") if all_ids else []
    )
    finding_types = [object_type] + [
        a.table for a in ASSOCIATION_TYPES if object_type in (a.from_type, a.to_type)
    ]
    counts = conn.execute(
        load_sql("privacy/scrub"),
        {
            "object_type": object_type,
            "ids": all_ids,
            "id_keys": [str(record_id) for record_id in all_ids],
            "emails": all_emails,
            "models": list(models),
            "finding_types": finding_types,
            "keep_run_id": run_id,
        },
    )
    columns = [column.name for column in counts.description]
    copies = dict(zip(columns, counts.fetchone(), strict=True))
    if all_ids:
        conn.execute(
            load_sql("privacy/tombstone"),
            {
                "object_type": object_type,
                "ids": all_ids,
                "reason": reason,
                "request_id": request_id,
                "run_id": run_id,
            },
        )
    if object_type in PERSONAL_OBJECT_TYPES:
        conn.execute(
            load_sql("privacy/close_requests"),
            {
                "request_id": request_id,
                "contact_id": ids[0] if ids else None,
                "ids": all_ids,
                "emails": all_emails,
                "records_erased": len(removed),
            },
        )
    return Erased(removed, copies)


def remove_deleted(
    conn: psycopg.Connection, object_type: str, ids: list[int], run_id: str, models: Iterable[str] = ()
) -> list[int]:
    """Rows of records HubSpot deleted for good: people are erased, other records only removed."""
    if object_type not in PERSONAL_OBJECT_TYPES:
        return reconcile_store.delete_records(conn, object_type, ids, run_id)
    return erase(conn, object_type, ids, reason="deleted_in_hubspot", models=models, run_id=run_id).ids


def find_contacts(conn: psycopg.Connection, email: str) -> list[int]:
    statement = sql.SQL(load_sql("privacy/find_by_email")).format(
        table=table_id("contacts"), email_column=_email_column(conn, "contacts")
    )
    return [record_id for (record_id,) in conn.execute(statement, {"email": email.strip().lower()})]


def open_requests(conn: psycopg.Connection, limit: int) -> list[OpenRequest]:
    rows = conn.execute(load_sql("privacy/open_requests"), {"limit": limit}).fetchall()
    return [OpenRequest(*row) for row in rows]


def fail_request(conn: psycopg.Connection, request_id: int, error: str) -> None:
    conn.execute(load_sql("privacy/fail_request"), {"request_id": request_id, "error": error})


def _email_column(conn: psycopg.Connection, object_type: str) -> sql.Composable:
    """The typed `email` column when the configuration has one, else NULL (the JSONB is read anyway)."""
    exists = conn.execute(load_sql("privacy/email_column"), {"table": object_type}).fetchone()[0]
    return sql.Identifier("email") if exists else sql.SQL("NULL")
