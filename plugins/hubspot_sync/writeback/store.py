"""Warehouse side of the write-back: the outbox, conflicts, and settled values put back on mirror rows.

Every statement comes from include/sql/writeback. Every transaction that writes mirror rows first marks
itself as the write-back's (`as_writeback`), so the capture triggers never take the sync's own writes
for edits. Callers own transactions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from hubspot_sync.sql import load_sql
from hubspot_sync.writeback.rules import PendingEdit

SCHEMA = "hubspot"


@dataclass(frozen=True)
class RecordEntry:
    """A pending create or archive."""

    record_id: int
    create_key: str | None
    changed_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    """How one outbox entry, as it was read, ended: status and, when it failed, why."""

    record_id: int
    field: str
    changed_at: datetime
    status: str  # synced | failed | reverted | superseded
    category: str | None = None
    reason: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class Conflict:
    edit: PendingEdit
    hubspot_value: str | None
    hubspot_changed_at: datetime | None
    hubspot_source: str | None
    winner: str
    rule: str


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text, parse_float=Decimal)


def as_writeback(conn: psycopg.Connection) -> None:
    conn.execute(load_sql("writeback/origin"))


def lock(conn: psycopg.Connection, object_type: str) -> None:
    """Wait for the object type's write-back lock (per session: released if the worker dies)."""
    conn.execute(load_sql("writeback/lock"), {"object_type": object_type})


def unlock(conn: psycopg.Connection, object_type: str) -> None:
    conn.execute(load_sql("writeback/unlock"), {"object_type": object_type})


def pending_updates(conn: psycopg.Connection, object_type: str) -> list[PendingEdit]:
    rows = conn.execute(load_sql("writeback/pending_updates"), {"object_type": object_type})
    return [
        PendingEdit(record_id, field, _json(value), _json(base), changed_at, _json(sent), sent_at)
        for record_id, field, value, base, changed_at, sent, sent_at in rows
    ]


def pending_records(conn: psycopg.Connection, object_type: str, operation: str) -> list[RecordEntry]:
    rows = conn.execute(
        load_sql("writeback/pending_records"), {"object_type": object_type, "operation": operation}
    )
    return [RecordEntry(*row) for row in rows]


def mark_sent(conn: psycopg.Connection, object_type: str, sent: list[tuple[int, str, Any]]) -> None:
    if not sent:
        return
    record_ids, fields, values = zip(*sent, strict=True)
    conn.execute(
        load_sql("writeback/mark_sent"),
        {
            "object_type": object_type,
            "record_ids": list(record_ids),
            "fields": list(fields),
            "values": [Jsonb(value, dumps=_dumps) for value in values],
        },
    )


def settle(conn: psycopg.Connection, object_type: str, run_id: str, outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    conn.execute(
        load_sql("writeback/settle"),
        {
            "object_type": object_type,
            "run_id": run_id,
            "record_ids": [o.record_id for o in outcomes],
            "fields": [o.field for o in outcomes],
            "changed_ats": [o.changed_at for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "categories": [o.category for o in outcomes],
            "reasons": [o.reason for o in outcomes],
            "correlation_ids": [o.correlation_id for o in outcomes],
        },
    )


def record_conflicts(
    conn: psycopg.Connection, object_type: str, run_id: str, conflicts: list[Conflict]
) -> None:
    if not conflicts:
        return
    conn.execute(
        load_sql("writeback/record_conflicts"),
        {
            "object_type": object_type,
            "run_id": run_id,
            "record_ids": [c.edit.record_id for c in conflicts],
            "fields": [c.edit.field for c in conflicts],
            "postgres_values": [Jsonb(c.edit.value, dumps=_dumps) for c in conflicts],
            "postgres_changed_ats": [c.edit.changed_at for c in conflicts],
            "hubspot_values": [c.hubspot_value for c in conflicts],
            "hubspot_changed_ats": [c.hubspot_changed_at for c in conflicts],
            "hubspot_sources": [c.hubspot_source for c in conflicts],
            "winners": [c.winner for c in conflicts],
            "rules": [c.rule for c in conflicts],
        },
    )


def set_column(
    conn: psycopg.Connection, object_type: str, column: str, values: dict[int, tuple[Any, datetime]]
) -> int:
    """Put settled JSON values (by record id, with the edit time they settle) into `column` of the mirror
    rows, unless the field was edited again since; returns rows changed."""
    if not values:
        return 0
    statement = sql.SQL(load_sql("writeback/set_column")).format(
        table=sql.Identifier(SCHEMA, object_type), column=sql.Identifier(column)
    )
    params = {
        "object_type": object_type,
        "column": column,
        "ids": list(values),
        "values": [Jsonb(value, dumps=_dumps) for value, _ in values.values()],
        "changed_ats": [changed_at for _, changed_at in values.values()],
    }
    return conn.execute(statement, params).rowcount


def new_rows(conn: psycopg.Connection, object_type: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    statement = sql.SQL(load_sql("writeback/new_rows")).format(table=sql.Identifier(SCHEMA, object_type))
    return {record_id: _json(row) for record_id, row in conn.execute(statement, {"ids": ids})}


def adopt_id(
    conn: psycopg.Connection,
    object_type: str,
    run_id: str,
    record_id: int,
    hubspot_id: int,
    created_at: datetime | None,
    updated_at: datetime | None,
) -> None:
    statement = sql.SQL(load_sql("writeback/adopt_id")).format(table=sql.Identifier(SCHEMA, object_type))
    conn.execute(
        statement,
        {
            "object_type": object_type,
            "run_id": run_id,
            "record_id": record_id,
            "hubspot_id": hubspot_id,
            "created_at": created_at,
            "updated_at": updated_at,
        },
    )


def mark_archived(conn: psycopg.Connection, object_type: str, ids: list[int]) -> None:
    statement = sql.SQL(load_sql("writeback/mark_archived")).format(table=sql.Identifier(SCHEMA, object_type))
    conn.execute(statement, {"ids": ids})


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # every digit kept; numeric columns take the text as it is
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
