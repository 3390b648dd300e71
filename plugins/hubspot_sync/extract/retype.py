"""Changing the type of a typed column when the sync configuration changes a property's type.

Run by the extraction of that object type, under its lock, in one transaction: the column is
emptied and retyped (no cast can fail that way), then refilled from `properties` with the same
parsing extraction uses, so the result is what a full re-extraction would give, without reading
HubSpot again. A stored text that does not fit the new type leaves NULL and becomes a reject.
If PostgreSQL refuses the change itself (say a view depends on the column), the run is refused
with the statement to run by hand: a failure someone can act on, never a run stuck on every row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from hubspot_sync.extract.store import PG_TYPES, SCHEMA, table_id
from hubspot_sync.run_metrics import Reject
from hubspot_sync.sql import load_sql
from hubspot_sync.values import InvalidValue, parse_typed

log = logging.getLogger(__name__)
SLICE = 10_000


class RetypeRefused(RuntimeError):
    """PostgreSQL would not change the column's type; the message says how to do it by hand."""


@dataclass
class Retyped:
    column: str
    from_type: str
    to_type: str
    refilled: int = 0
    rejects: list[Reject] = field(default_factory=list)

    def note(self, object_type: str) -> str:
        return (
            f"{SCHEMA}.{object_type}.{self.column} changed from {self.from_type} to {self.to_type} as "
            f"configured: {self.refilled} values refilled from properties, {len(self.rejects)} rejected"
        )


def retype_column(
    conn: psycopg.Connection, object_type: str, column: str, from_type: str, property_type: str
) -> Retyped:
    """Retype `column` to the type `property_type` maps to and refill it; call inside a transaction."""
    wanted = PG_TYPES[property_type]
    result = Retyped(column, from_type, wanted)
    table, target = table_id(object_type), sql.Identifier(column)
    log.warning("Changing %s.%s.%s from %s to %s", SCHEMA, object_type, column, from_type, wanted)
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL(load_sql("extract/alter_column_type")).format(
                    table=table, column=target, column_type=sql.SQL(wanted)
                )
            )
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:
        qualified = f"{SCHEMA}.{object_type}"
        raise RetypeRefused(
            f"{qualified}.{column} is {from_type} but configured as {property_type} ({wanted}), and "
            f"PostgreSQL refused to change it ({type(error).__name__}: {error.diag.message_primary}). "
            f"Change it by hand (ALTER TABLE {qualified} ALTER COLUMN {column} TYPE {wanted} USING NULL, "
            "after dropping what depends on it), then run with full_refresh; or set the property's type "
            "back in the sync configuration."
        ) from None
    stage = sql.Identifier(f"retype_{object_type}")
    conn.execute(sql.SQL(load_sql("extract/retype_stage")).format(stage=stage, column_type=sql.SQL(wanted)))
    read = sql.SQL(load_sql("extract/retype_read")).format(table=table)
    after_id = 0
    while True:
        texts = conn.execute(read, {"property": column, "after_id": after_id, "limit": SLICE}).fetchall()
        if not texts:
            break
        after_id = texts[-1][0]
        with conn.cursor().copy(sql.SQL(load_sql("extract/retype_copy")).format(stage=stage)) as copy:
            for record_id, text in texts:
                try:
                    copy.write_row((record_id, parse_typed(text, property_type)))
                except InvalidValue as error:
                    reason = f"{error} for a {property_type} column (found when the column changed type)"
                    result.rejects.append(Reject(object_type, str(record_id), column, reason))
    refilled = conn.execute(
        sql.SQL(load_sql("extract/retype_apply")).format(table=table, column=target, stage=stage)
    )
    result.refilled = refilled.rowcount
    conn.execute(sql.SQL(load_sql("extract/retype_drop")).format(stage=stage))  # the next column's turn
    log.warning("%s", result.note(object_type))
    return result
