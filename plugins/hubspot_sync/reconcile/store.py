"""Warehouse side of reconciliation: the session's staging tables, the comparison, findings, removals.

Every statement comes from include/sql/reconcile; identifiers go through psycopg.sql.Identifier.
HubSpot's side is staged per session (temporary tables: a killed run leaves nothing behind) as one
row per id with its state, last-modified time and a hash of its typed values. The hash is computed
in PostgreSQL on both sides by the same expression over columns of the same types, so a value
counts as equal exactly when the landing code would have stored the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from hubspot_sync.extract.store import PG_TYPES, table_id
from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.reconcile.kinds import RecordFacts
from hubspot_sync.records import Row
from hubspot_sync.sql import load_sql

FACTS_PER_READ = 5000
# Canonical text of a typed column, the same on both sides: numbers without trailing zeros (10.50 and
# 10.5 are one value), times in UTC to the microsecond, multi-selects as HubSpot writes them.
_CANONICAL = {
    "numeric": "trim_scale({column})::text",
    "boolean": "{column}::text",
    "date": "{column}::text",
    "timestamp with time zone": "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')",
    "text[]": "array_to_string({column}, ';')",
    "text": "{column}",
}


def comparable_columns(conn: psycopg.Connection, object_type: str, column_types: dict[str, str]) -> list[str]:
    """Configured typed columns the mirror has with the configured type (a column awaiting its
    migration or retype is left out of the value hash until extraction has caught up)."""
    existing = dict(
        conn.execute(
            load_sql("extract/column_types"), {"table": f"hubspot.{object_type}", "object_type": object_type}
        ).fetchall()
    )
    return [column for column, kind in column_types.items() if existing.get(column) == PG_TYPES[kind]]


def value_hashes(columns: list[str], column_types: dict[str, str]) -> sql.Composable:
    """The expression hashing each of alias `m`'s typed `columns` (one array element per column)."""
    hashes = [
        sql.SQL("hashtextextended({}, 0)").format(
            sql.SQL(_CANONICAL[PG_TYPES[column_types[column]]]).format(
                column=sql.SQL("m.{}").format(sql.Identifier(column))
            )
        )
        for column in columns
    ]
    template = "\n".join(
        line for line in load_sql("reconcile/value_hash").splitlines() if not line.startswith("--")
    )
    return sql.SQL(template.strip()).format(canonical_hashes=sql.SQL(", ").join(hashes))


def start_stage(conn: psycopg.Connection) -> None:
    conn.execute(load_sql("reconcile/create_stage"))


def stage_page(
    conn: psycopg.Connection,
    object_type: str,
    rows: list[Row],
    columns: list[str],
    hashes: sql.Composable,
) -> None:
    """Stage one page of HubSpot rows (id, state, last-modified, value hash) and the merges they name."""
    page = sql.Identifier(f"reconcile_page_{object_type}")
    table = table_id(object_type)
    copied = ["id", "updated_at", "archived", *columns]
    with conn.transaction():
        conn.execute(sql.SQL(load_sql("reconcile/create_page")).format(page=page, table=table))
        with conn.cursor() as cursor:
            statement = sql.SQL(load_sql("reconcile/copy_page")).format(
                page=page, columns=sql.SQL(", ").join(map(sql.Identifier, copied))
            )
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(
                        (row.id, row.updated_at, row.archived, *(row.typed.get(c) for c in columns))
                    )
            with cursor.copy(load_sql("reconcile/copy_merged")) as copy:
                for row in rows:
                    for merged_id in row.merged_ids:
                        copy.write_row((merged_id, row.id))
        conn.execute(sql.SQL(load_sql("reconcile/stage_page")).format(page=page, value_hashes=hashes))


def compare(
    conn: psycopg.Connection,
    object_type: str,
    hashes: sql.Composable,
    *,
    compare_values: bool,
    columns: list[str],
    listing_started_at: Any,
) -> tuple[int, int]:
    """Fill the facts of every disagreeing id; returns (ids HubSpot listed, rows in the mirror)."""
    table = table_id(object_type)
    with conn.transaction():
        conn.execute(
            sql.SQL(load_sql("reconcile/compare")).format(table=table, value_hashes=hashes),
            {"compare_values": compare_values, "columns": columns, "listing_started_at": listing_started_at},
        )
        listed, mirrored = conn.execute(sql.SQL(load_sql("reconcile/counts")).format(table=table)).fetchone()
    return listed, mirrored


def iter_facts(conn: psycopg.Connection) -> Iterator[list[RecordFacts]]:
    """The facts of disagreeing ids, a bounded slice at a time, in id order."""
    after_id = 0
    while True:
        rows = conn.execute(
            load_sql("reconcile/next_facts"), {"after_id": after_id, "limit": FACTS_PER_READ}
        ).fetchall()
        if not rows:
            return
        yield [RecordFacts(*row) for row in rows]
        after_id = rows[-1][0]


def forget_findings(conn: psycopg.Connection, run_id: str, object_type: str) -> None:
    conn.execute(load_sql("reconcile/forget_findings"), {"run_id": run_id, "object_type": object_type})


def add_findings(conn: psycopg.Connection, run_id: str, object_type: str, findings: list[tuple]) -> None:
    """`findings`: (record_id, kind, fields, detail, repaired, note) tuples."""
    if not findings:
        return
    with conn.cursor() as cursor, cursor.copy(load_sql("reconcile/copy_findings")) as copy:
        for record_id, kind, fields, detail, repaired, note in findings:
            copy.write_row(
                (run_id, object_type, record_id, str(kind), list(fields), Jsonb(detail), repaired, note)
            )


def findings_to_repair(
    conn: psycopg.Connection, run_id: str, object_type: str, kinds: list[str], limit: int
) -> Iterator[list[tuple[int, int, str, dict]]]:
    """Unrepaired findings of `kinds` as (finding_id, record_id, kind, detail), `limit` at a time."""
    after_id = 0
    params = {"run_id": run_id, "object_type": object_type, "kinds": kinds, "limit": limit}
    while True:
        rows = conn.execute(
            load_sql("reconcile/findings_to_repair"), {**params, "after_id": after_id}
        ).fetchall()
        if not rows:
            return
        yield rows
        after_id = rows[-1][0]


def mark_findings(
    conn: psycopg.Connection, finding_ids: list[int], *, repaired: bool, note: str | None
) -> None:
    if finding_ids:
        conn.execute(
            load_sql("reconcile/mark_findings"),
            {"finding_ids": finding_ids, "repaired": repaired, "note": note},
        )


def delete_records(conn: psycopg.Connection, object_type: str, ids: list[int], run_id: str) -> list[int]:
    """Remove the rows and every association row of `ids`, with audit rows; returns the ids removed."""
    removed = [
        record_id
        for (record_id,) in conn.execute(
            sql.SQL(load_sql("reconcile/delete_records")).format(table=table_id(object_type)),
            {"ids": ids, "object_type": object_type, "run_id": run_id},
        )
    ]
    for association in ASSOCIATION_TYPES:
        for end_type, column in (
            (association.from_type, association.from_column),
            (association.to_type, association.to_column),
        ):
            if end_type != object_type or not removed:
                continue
            statement = sql.SQL(load_sql("reconcile/delete_associations")).format(
                table=table_id(association.table), column=sql.Identifier(column)
            )
            conn.execute(statement, {"ids": removed})
    return removed


def summarize(conn: psycopg.Connection, run_id: str, object_type: str) -> tuple[dict, dict]:
    """(kind -> findings, kind -> repaired) of one run and object type."""
    found, repaired = {}, {}
    rows = conn.execute(
        load_sql("reconcile/summarize_findings"), {"run_id": run_id, "object_type": object_type}
    )
    for kind, count, fixed in rows:
        found[kind] = count
        if fixed:
            repaired[kind] = fixed
    return found, repaired


def record_run(conn: psycopg.Connection, values: dict[str, Any]) -> None:
    conn.execute(
        load_sql("reconcile/record_run"),
        {**values, "found": Jsonb(values["found"]), "repaired": Jsonb(values["repaired"])},
    )


def mark_abandoned(conn: psycopg.Connection) -> None:
    """Mark the reconcile_runs rows of task tries found abandoned, whichever task (of any DAG) found them:
    the first task of a rerun may be one that keeps no reconcile_runs row."""
    conn.execute(load_sql("reconcile/mark_abandoned"))
