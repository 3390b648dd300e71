"""Warehouse side of extraction: typed columns, staged upserts, cursors, merges, catalog, associations.

Every statement comes from include/sql/extract; identifiers (tables, property columns) are
composed with psycopg.sql.Identifier, values are parameters. Callers own transactions: a batch
of rows, its rejects and the cursor that covers them commit together.

Errors PostgreSQL raises while landing rows are re-raised as `BatchRefused`, named by record and
column and SQLSTATE: psycopg's message, DETAIL and CONTEXT quote the row's values, which must not
reach a task log or an alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from hubspot_sync.objects import AssociationType
from hubspot_sync.records import Row
from hubspot_sync.run_metrics import Reject
from hubspot_sync.sql import load_sql
from hubspot_sync.values import storable_text

SCHEMA = "hubspot"
PG_TYPES = {
    "string": "text",
    "enumeration": "text",
    "phone_number": "text",
    "number": "numeric",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp with time zone",
    "multi_enumeration": "text[]",
}
BASE_COLUMNS = ("id", "properties", "created_at", "updated_at", "archived", "archived_at")
# COPY's error CONTEXT: "COPY stage_contacts, line 3, column usage_score: <the value>".
_COPY_CONTEXT = re.compile(r"^COPY [^,]+, line (\d+)(?:, column ([^:]+):)?", re.MULTILINE)


class BatchRefused(RuntimeError):
    """PostgreSQL refused a batch of rows; the message names what and why, never a value."""

    def __init__(self, message: str, condition: str, record_id: int | None = None, column: str | None = None):
        super().__init__(message)
        self.condition = condition
        self.record_id = record_id
        self.column = column


@dataclass(frozen=True)
class Cursor:
    cursor_ms: int | None
    list_after: str | None
    list_started_ms: int | None


def table_id(name: str) -> sql.Identifier:
    return sql.Identifier(SCHEMA, name)


def ensure_columns(
    conn: psycopg.Connection, object_type: str, column_types: dict[str, str]
) -> dict[str, str]:
    """Add missing typed columns; return configured columns whose existing type differs (-> that type)."""
    existing = dict(
        conn.execute(
            load_sql("extract/column_types"), {"table": f"{SCHEMA}.{object_type}", "object_type": object_type}
        ).fetchall()
    )
    differing = {}
    for column, property_type in column_types.items():
        wanted = PG_TYPES[property_type]
        if column not in existing:
            conn.execute(
                sql.SQL(load_sql("extract/add_column")).format(
                    table=table_id(object_type), column=sql.Identifier(column), column_type=sql.SQL(wanted)
                )
            )
        elif existing[column] != wanted:
            differing[column] = existing[column]
    return differing


def ensure_index(conn: psycopg.Connection, object_type: str, column: str) -> None:
    conn.execute(
        sql.SQL(load_sql("extract/create_index")).format(
            index=sql.Identifier(f"{object_type}_{column}_idx"),
            table=table_id(object_type),
            column=sql.Identifier(column),
        )
    )


def read_cursor(conn: psycopg.Connection, object_type: str) -> Cursor:
    row = conn.execute(load_sql("extract/read_cursor"), {"object_type": object_type}).fetchone()
    return Cursor(*row) if row else Cursor(None, None, None)


def save_cursor(conn: psycopg.Connection, object_type: str, cursor: Cursor) -> None:
    conn.execute(
        load_sql("extract/save_cursor"),
        {
            "object_type": object_type,
            "cursor_ms": cursor.cursor_ms,
            "list_after": cursor.list_after,
            "list_started_ms": cursor.list_started_ms,
        },
    )


def as_extraction(conn: psycopg.Connection) -> None:
    """Mark the current transaction's writes as HubSpot's values landing: two-way capture skips them."""
    conn.execute(load_sql("extract/origin"))


def upsert_rows(
    conn: psycopg.Connection, object_type: str, rows: list[Row], typed_columns: list[str], run_id: str
) -> int:
    """Stage `rows` with COPY and merge them in one statement; returns rows inserted or changed."""
    if not rows:
        return 0
    as_extraction(conn)
    columns = [*BASE_COLUMNS, *typed_columns]
    stage = sql.Identifier(f"stage_{object_type}")
    conn.execute(sql.SQL(load_sql("extract/create_stage")).format(stage=stage, table=table_id(object_type)))
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    with conn.cursor() as cursor:
        current: Row | None = None
        try:
            with cursor.copy(
                sql.SQL(load_sql("extract/copy_stage")).format(stage=stage, columns=column_list)
            ) as copy:
                for current in rows:
                    copy.write_row(
                        (
                            current.id,
                            Jsonb(current.properties),
                            current.created_at,
                            current.updated_at,
                            current.archived,
                            current.archived_at,
                            *(current.typed.get(column) for column in typed_columns),
                        )
                    )
        except psycopg.OperationalError:
            raise  # the connection, not the data: its message carries no values
        except (psycopg.Error, UnicodeError, OverflowError, ValueError) as error:
            raise _refused(error, object_type, rows, current) from None
        data_columns = [column for column in columns if column != "id"]
        statement = sql.SQL(load_sql("extract/upsert_from_stage")).format(
            table=table_id(object_type),
            stage=stage,
            columns=column_list,
            assignments=sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(column)) for column in data_columns
            ),
            target_columns=sql.SQL(", ").join(
                sql.SQL("target.{}").format(sql.Identifier(column)) for column in data_columns
            ),
            excluded_columns=sql.SQL(", ").join(
                sql.SQL("EXCLUDED.{}").format(sql.Identifier(column)) for column in data_columns
            ),
        )
        try:
            cursor.execute(statement, {"run_id": run_id})
        except psycopg.OperationalError:
            raise
        except psycopg.Error as error:
            condition = _condition(error)
            raise BatchRefused(
                f"PostgreSQL refused to merge a batch of {len(rows)} {object_type} rows into "
                f"{SCHEMA}.{object_type}: {condition}",
                condition,
            ) from None
        return cursor.rowcount


def upsert_rows_isolating(
    conn: psycopg.Connection, object_type: str, rows: list[Row], typed_columns: list[str], run_id: str
) -> tuple[int, list[Reject], list[Row]]:
    """`upsert_rows`, taking out what PostgreSQL refuses instead of failing the whole batch.

    `to_row` already keeps every value PostgreSQL is known to refuse out of a Row; this is the net
    for anything unforeseen. A refused typed value becomes NULL (the text stays in `properties`), a
    row refused elsewhere is left out, each with a reject, and the batch is staged again inside a
    savepoint. Every round clears a value or drops a row, so it ends; a refusal that names no row
    (the merge statement) is raised. Returns rows written, the rejects, and the rows that landed.
    """
    rejects: list[Reject] = []
    while True:
        try:
            with conn.transaction():
                return upsert_rows(conn, object_type, rows, typed_columns, run_id), rejects, rows
        except BatchRefused as refused:
            row = next((row for row in rows if row.id == refused.record_id), None)
            if row is None:
                raise
            if refused.column in typed_columns and row.typed.get(refused.column) is not None:
                row.typed[refused.column] = None
                reason = f"PostgreSQL refused the value ({refused.condition}); the column is left NULL"
            else:
                rows = [other for other in rows if other is not row]
                reason = f"PostgreSQL refused the record ({refused.condition}); it was not stored"
            rejects.append(Reject(object_type, str(row.id), refused.column, reason))


def _condition(error: BaseException) -> str:
    sqlstate = getattr(error, "sqlstate", None)
    return f"{type(error).__name__} (SQLSTATE {sqlstate})" if sqlstate else type(error).__name__


def _refused(error: BaseException, object_type: str, rows: list[Row], current: Row | None) -> BatchRefused:
    """The refusal of a COPY, named by the row its CONTEXT points at (or the row being written)."""
    row, column = current, None
    diag = getattr(error, "diag", None)
    match = _COPY_CONTEXT.search(getattr(diag, "context", None) or "")
    if match and 0 < int(match[1]) <= len(rows):
        row, column = rows[int(match[1]) - 1], match[2]
    condition = _condition(error)
    where = f" record {row.id}" if row is not None else ""
    where += f", column {column}" if column else ""
    return BatchRefused(
        f"PostgreSQL refused {object_type}{where} while staging a batch of {len(rows)} rows: {condition}",
        condition,
        row.id if row is not None else None,
        column,
    )


def mark_merged(conn: psycopg.Connection, object_type: str, rows: list[Row], run_id: str) -> int:
    """Archive the records `rows` name in `hs_merged_object_ids` and point them at their survivor."""
    merged_ids, survivor_ids, merged_ats = [], [], []
    for row in rows:
        for merged_id in row.merged_ids:
            merged_ids.append(merged_id)
            survivor_ids.append(row.id)
            merged_ats.append(row.updated_at)
    if not merged_ids:
        return 0
    as_extraction(conn)
    result = conn.execute(
        sql.SQL(load_sql("extract/mark_merged")).format(table=table_id(object_type)),
        {"merged_ids": merged_ids, "survivor_ids": survivor_ids, "merged_ats": merged_ats, "run_id": run_id},
    )
    return result.rowcount


def update_catalog(conn: psycopg.Connection, object_type: str, properties: list[dict[str, Any]]) -> dict:
    """Store the property definitions HubSpot reports; return what appeared, vanished or changed type."""
    before = {
        name: (ptype, archived)
        for name, ptype, archived in conn.execute(
            load_sql("extract/catalog_before"), {"object_type": object_type}
        )
    }
    entries = [
        {
            "name": prop["name"],
            "type": prop.get("type") or "string",
            "field_type": prop.get("fieldType"),
            "label": prop.get("label"),
            "calculated": bool(prop.get("calculated")),
            "read_only": bool((prop.get("modificationMetadata") or {}).get("readOnlyValue")),
            "hubspot_defined": bool(prop.get("hubspotDefined")),
            "options": prop.get("options") or [],
        }
        for prop in properties
        if prop.get("name")
    ]
    entries = _storable(entries)  # a label or option with a NUL would otherwise stop every run
    conn.execute(
        load_sql("extract/catalog_upsert"), {"object_type": object_type, "properties": Jsonb(entries)}
    )
    names = [entry["name"] for entry in entries]
    conn.execute(load_sql("extract/catalog_mark_missing"), {"object_type": object_type, "names": names})
    now_types = {entry["name"]: entry["type"] for entry in entries}
    return {
        "added": sorted(name for name in now_types if name not in before or before[name][1])
        if before
        else [],
        "removed": sorted(
            name for name, (_, archived) in before.items() if not archived and name not in now_types
        ),
        "type_changed": sorted(
            f"{name}: {before[name][0]} -> {ptype}"
            for name, ptype in now_types.items()
            if name in before and before[name][0] != ptype
        ),
    }


def _storable(value: Any) -> Any:
    """`value` with every string as PostgreSQL can hold it (see values.storable_text)."""
    if isinstance(value, str):
        return storable_text(value)[0]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def replace_associations(
    conn: psycopg.Connection,
    table: str,
    from_column: str,
    to_column: str,
    from_ids: list[int],
    pairs: list[tuple[int, int, int, str, str | None]],
) -> tuple[int, int]:
    """Make the association rows of `from_ids` equal `pairs`; returns (removed, inserted or changed)."""
    unique = {(f, t, k): (f, t, k, category, label) for f, t, k, category, label in pairs}
    columns = list(zip(*unique.values(), strict=True)) if unique else [[], [], [], [], []]
    statement = sql.SQL(load_sql("extract/replace_associations")).format(
        table=table_id(table), from_column=sql.Identifier(from_column), to_column=sql.Identifier(to_column)
    )
    removed, upserted = conn.execute(
        statement,
        {
            "from_ids": from_ids,
            "pair_from": list(columns[0]),
            "pair_to": list(columns[1]),
            "pair_type": list(columns[2]),
            "pair_category": list(columns[3]),
            "pair_label": list(columns[4]),
        },
    ).fetchone()
    return removed, upserted


def prune_archived_associations(
    conn: psycopg.Connection, table: str, from_table: str, from_column: str
) -> int:
    statement = sql.SQL(load_sql("extract/prune_archived_associations")).format(
        table=table_id(table), from_table=table_id(from_table), from_column=sql.Identifier(from_column)
    )
    return conn.execute(statement).rowcount


def live_ids(
    conn: psycopg.Connection,
    association: AssociationType,
    after_id: int,
    limit: int,
    changed_in_run: str | None = None,
) -> list[int]:
    """Ids of the association's source records not archived, in id order; with `changed_in_run` only
    those that run changed or whose associated records it archived or merged away."""
    statement = "extract/changed_live_ids" if changed_in_run else "extract/live_ids"
    query = sql.SQL(load_sql(statement)).format(
        table=table_id(association.from_type),
        association_table=table_id(association.table),
        from_column=sql.Identifier(association.from_column),
        to_table=table_id(association.to_type),
        to_column=sql.Identifier(association.to_column),
    )
    params = {"after_id": after_id, "limit": limit, "run_id": changed_in_run}
    return [row[0] for row in conn.execute(query, params)]
