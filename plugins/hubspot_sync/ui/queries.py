"""What the sync dashboard shows, read from the warehouse: `collect(conn)` returns it as plain data.

Every number on the page is an aggregate (a count, or a sum of one column) over a query that lists
its rows (include/sql/dashboard/rows). The number is computed from that very query, and the page
links to it, so "where does this 12 come from" is answered by running the SQL shown.

Reads only `hubspot_sync` tables and the `hubspot` mirror tables. Tables other features add
(write-back, conflicts, reconciliation) are shown when they exist and left out when they do not.
Not responsible for: rendering (app.py, chart.py) or access control (app.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hubspot_sync.sql import load_sql

OPTIONAL_TABLES = ("outbox", "conflicts", "reconcile_runs", "reconcile_findings")
RUNS_PER_CHART = 30
# An object type whose newest data is older than this is "stale"; the default schedule is 15 minutes.
STALE_AFTER_SECONDS = 3600
# HubSpot's daily API limit per account (private apps), by the tier set on the HubSpot connection.
DAILY_LIMITS = {"free": 250_000, "starter": 250_000, "professional": 650_000, "enterprise": 1_000_000}


@dataclass(frozen=True)
class Number:
    """One figure on the page: `aggregate` ("count" or a column to sum) over the rows query `query`."""

    query: str  # file name under include/sql/dashboard/rows
    params: tuple[tuple[str, Any], ...]
    aggregate: str = "count"

    def rows_sql(self) -> sql.Composed:
        values = dict(self.params)
        table = values.pop("table", None)
        parts: dict[str, sql.Composable] = {key: sql.Literal(value) for key, value in values.items()}
        if table is not None:
            parts["table"] = sql.Identifier("hubspot", table)
        return sql.SQL(load_sql(f"dashboard/rows/{self.query}")).format(**parts)

    def value(self, conn: psycopg.Connection) -> int:
        rows = self.rows_sql()
        if self.aggregate == "count":
            total = sql.SQL("SELECT count(*) FROM ({rows}) AS listed").format(rows=rows)
        else:
            total = sql.SQL("SELECT coalesce(sum({column}), 0) FROM ({rows}) AS listed").format(
                column=sql.Identifier(self.aggregate), rows=rows
            )
        return int(conn.execute(total).fetchone()[0])

    def link(self) -> str:
        """The page's address for this number's query (relative to the dashboard)."""
        from urllib.parse import urlencode

        return f"sql/{self.query}?{urlencode(self.params)}"

    def as_dict(self, conn: psycopg.Connection) -> dict[str, Any]:
        return {"value": self.value(conn), "sql": self.rows_sql().as_string(conn), "link": self.link()}


def number(query: str, aggregate: str = "count", **params: Any) -> Number:
    return Number(query, tuple(sorted(params.items())), aggregate)


def collect(
    conn: psycopg.Connection, object_types: list[str], models: list[str], daily_limit: int
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (see the README's dashboard section)."""
    now = datetime.now(UTC)
    if conn.execute("SELECT to_regclass('hubspot_sync.run_metrics')").fetchone()[0] is None:
        return {"generated_at": now.isoformat(), "migrated": False}
    present = dict(conn.execute(load_sql("dashboard/tables"), {"names": list(OPTIONAL_TABLES)}).fetchall())
    with conn.cursor(row_factory=dict_row) as cursor:
        objects = cursor.execute(load_sql("dashboard/objects"), {"object_types": object_types}).fetchall()
        runs = cursor.execute(
            load_sql("dashboard/runs"), {"object_types": object_types, "limit": RUNS_PER_CHART}
        ).fetchall()
        model_rows = cursor.execute(load_sql("dashboard/models"), {"models": models}).fetchall()
        push_runs = cursor.execute(load_sql("dashboard/reverse_etl_recent"), {"limit": 5}).fetchall()
        reconcile = (
            cursor.execute(load_sql("dashboard/reconcile_latest")).fetchall()
            if present["reconcile_runs"] and present["reconcile_findings"]
            else None
        )
    all_tries = number("all_tries_24h", "api_calls")
    return {
        "generated_at": now.isoformat(),
        "migrated": True,
        "objects": [_object(conn, row, runs, present, now) for row in objects],
        "api": {
            "calls_24h": all_tries.as_dict(conn),
            "rate_limited_24h": number("all_tries_24h", "rate_limited_calls").as_dict(conn),
            "daily_limit": daily_limit,
        },
        "failures_7d": number("recent_failures").as_dict(conn),
        "recent_failures": _recent_failures(conn),
        "models": [_model(conn, row) for row in model_rows],
        "reverse_etl_runs": [
            {
                **{key: int(value) if isinstance(value, Decimal) else value for key, value in row.items()},
                "started_at": _iso(row["started_at"]),
                "link": number("reverse_etl_run", run_id=row["run_id"]).link(),
            }
            for row in push_runs
        ],
        "reconcile": None if reconcile is None else [_reconcile(conn, row) for row in reconcile],
        "writeback_enabled": bool(present["outbox"]),
        "conflicts_enabled": bool(present["conflicts"]),
    }


def _object(
    conn: psycopg.Connection, row: dict[str, Any], runs: list[dict], present: dict[str, bool], now: datetime
) -> dict[str, Any]:
    object_type = row["object_type"]
    task = {"dag_id": "hubspot_extract", "task_id": f"extract_{object_type}"}
    cursor_at = datetime.fromtimestamp(row["cursor_ms"] / 1000, UTC) if row["cursor_ms"] else None
    lag = (now - cursor_at).total_seconds() if cursor_at else None
    entry: dict[str, Any] = {
        "object_type": object_type,
        "health": _health(row["last_status"], row["last_success_at"], lag),
        "last_success_at": _iso(row["last_success_at"]),
        "last_status": row["last_status"],
        "last_run_id": row["last_run_id"],
        "cursor_at": _iso(cursor_at),
        "freshness_lag_seconds": None if lag is None else round(max(lag, 0.0), 1),
        "live_records": number("mirror_live", table=object_type).as_dict(conn),
        "archived_records": number("mirror_archived", table=object_type).as_dict(conn),
        "failed_tries_7d": number("task_failures", **task).as_dict(conn),
        "rejects_7d": number("task_rejects", **task).as_dict(conn),
        "api_calls_24h": number("task_tries_24h", "api_calls", **task).as_dict(conn),
        "rate_limited_24h": number("task_tries_24h", "rate_limited_calls", **task).as_dict(conn),
        "runs": [
            {
                "run_id": run["run_id"],
                "try_number": run["try_number"],
                "started_at": _iso(run["started_at"]),
                "status": run["status"],
                **{
                    key: run[key]
                    for key in ("records_read", "records_written", "records_rejected", "api_calls")
                },
                "rate_limited_calls": run["rate_limited_calls"],
            }
            for run in runs
            if run["object_type"] == object_type
        ],
    }
    if present["outbox"]:
        entry["outbox_pending"] = number("outbox", object_type=object_type, status="pending").as_dict(conn)
        entry["outbox_failed"] = number("outbox", object_type=object_type, status="failed").as_dict(conn)
    if present["conflicts"]:
        entry["conflicts_7d"] = number("conflicts", object_type=object_type).as_dict(conn)
    return entry


def _model(conn: psycopg.Connection, row: dict[str, Any]) -> dict[str, Any]:
    task = {"dag_id": "hubspot_reverse_etl", "task_id": f"push_{row['model']}"}
    return {
        "model": row["model"],
        "last_success_at": _iso(row["last_success_at"]),
        "last_status": row["last_status"],
        "last_run_id": row["last_run_id"],
        "records": number("push_records", model=row["model"]).as_dict(conn),
        "failing": number("push_failing", model=row["model"]).as_dict(conn),
        "rejects_7d": number("task_rejects", **task).as_dict(conn),
        "failed_tries_7d": number("task_failures", **task).as_dict(conn),
    }


def _reconcile(conn: psycopg.Connection, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "object_type": row["object_type"],
        "run_id": row["run_id"],
        "status": row["status"],
        "mode": row["mode"],
        "drift_share": None if row["drift_share"] is None else float(row["drift_share"]),
        "finished_at": _iso(row["finished_at"]),
        "note": row["note"],
        "findings": number(
            "reconcile_findings", run_id=row["run_id"], object_type=row["object_type"]
        ).as_dict(conn),
    }


def _recent_failures(conn: psycopg.Connection, limit: int = 10) -> list[dict[str, Any]]:
    rows_sql = number("recent_failures").rows_sql()
    query = sql.SQL("SELECT * FROM ({rows}) AS listed LIMIT {limit}").format(
        rows=rows_sql, limit=sql.Literal(limit)
    )
    with conn.cursor(row_factory=dict_row) as cursor:
        return [
            {
                key: _iso(value) if isinstance(value, datetime) else value
                for key, value in row.items()
                if key != "finished_at"
            }
            for row in cursor.execute(query)
        ]


def _health(last_status: str | None, last_success_at: datetime | None, lag: float | None) -> str:
    if last_status is None:
        return "never run"
    if last_status in ("failed", "abandoned"):
        return "failing"
    if last_success_at is None:
        return "running" if last_status == "running" else "never succeeded"
    if lag is not None and lag > STALE_AFTER_SECONDS:
        return "stale"
    return "healthy"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
