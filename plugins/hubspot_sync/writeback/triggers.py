"""Installing the capture trigger of each mirror table to match the configuration's two-way columns.

Idempotent and cheap when nothing changed (the installed trigger's arguments are compared first), so
both the write-back and the extraction run it every time: a column made two-way is captured from the
next run of either, and one taken out of `two_way` stops being captured.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from hubspot_sync.sql import load_sql

SCHEMA = "hubspot"


def installed_columns(conn: psycopg.Connection, object_type: str) -> tuple[str, ...] | None:
    """The columns the table's capture trigger watches, or None when it has no trigger."""
    row = conn.execute(load_sql("writeback/trigger_args"), {"table": f"{SCHEMA}.{object_type}"}).fetchone()
    if row is None:
        return None
    raw = bytes(row[0])
    return tuple(part.decode() for part in raw.split(b"\x00") if part)


def install(conn: psycopg.Connection, object_type: str, columns: list[str]) -> bool:
    """Make the table's capture trigger watch exactly `columns` (none: no trigger); True if it changed."""
    table = sql.Identifier(SCHEMA, object_type)
    wanted = tuple(sorted(columns))
    current = installed_columns(conn, object_type)
    if current == (wanted or None):
        return False
    if not wanted:
        conn.execute(sql.SQL(load_sql("writeback/drop_trigger")).format(table=table))
        return True
    conn.execute(
        sql.SQL(load_sql("writeback/create_trigger")).format(
            table=table, columns=sql.SQL(", ").join(map(sql.Literal, wanted))
        )
    )
    return True
