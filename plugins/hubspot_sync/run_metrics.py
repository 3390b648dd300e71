"""Run summaries and rejected records, written to `hubspot_sync` by every task.

`RunInfo` identifies the task try that is writing (from the Airflow context); `Reject` is one
refused record or field. Reasons never contain the refused value: it may be personal data.

A try that dies without recording its end (kill -9, a lost database connection) would leave its
row 'running' for ever. So a try holds a session advisory lock named after itself from the
moment it records 'running' until it records its end, and `mark_abandoned` (run as a task
starts) marks every 'running' row whose lock nobody holds as 'abandoned', with the time it
noticed. PostgreSQL releases a session's locks when the session ends, however it ends, and only
then: a live try, however slow or quiet, keeps its lock and its row is never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hubspot_sync.metrics import emit as emit_metrics
from hubspot_sync.sql import load_sql

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    dag_id: str
    run_id: str
    task_id: str
    try_number: int = 1

    @classmethod
    def from_context(cls, context: Any) -> RunInfo:
        ti = context["ti"]
        return cls(ti.dag_id, ti.run_id, ti.task_id, int(getattr(ti, "try_number", 1) or 1))


@dataclass(frozen=True)
class Reject:
    object_type: str
    record_id: str | None
    field: str | None
    reason: str


@dataclass
class RunSummary:
    object_type: str | None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    records_read: int = 0
    records_written: int = 0
    records_rejected: int = 0
    api_calls: int = 0
    rate_limited_calls: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        seconds = (datetime.now(UTC) - self.started_at).total_seconds()
        return {
            "object_type": self.object_type,
            "records_read": self.records_read,
            "records_written": self.records_written,
            "records_rejected": self.records_rejected,
            "api_calls": self.api_calls,
            "rate_limited_calls": self.rate_limited_calls,
            "seconds": round(seconds, 3),
            **self.details,
        }


def record_run(conn: psycopg.Connection, run: RunInfo, summary: RunSummary, status: str) -> None:
    """Upsert the task try's summary row (status 'running', 'success' or 'failed').

    'running' also takes the try's lock on `conn` (keep that connection open while the try runs);
    any other status releases it once the row says so.
    """
    finished_at = None if status == "running" else datetime.now(UTC)
    key = _run_key(run)
    if status == "running" and not conn.execute(load_sql("run_metrics/hold"), key).fetchone()[0]:
        log.warning("Another live session is running the same task try %s", key)
    conn.execute(
        load_sql("run_metrics/record"),
        {
            **key,
            "object_type": summary.object_type,
            "started_at": summary.started_at,
            "finished_at": finished_at,
            "status": status,
            "records_read": summary.records_read,
            "records_written": summary.records_written,
            "records_rejected": summary.records_rejected,
            "api_calls": summary.api_calls,
            "rate_limited_calls": summary.rate_limited_calls,
            "details": Jsonb(summary.details),
        },
    )
    if status != "running":
        conn.execute(load_sql("run_metrics/release"), key)
        emit_metrics(run, summary, status)


def mark_abandoned(conn: psycopg.Connection, noticed_by: RunInfo) -> list[tuple[str, str, str, int]]:
    """Mark 'running' rows of task tries that are gone as 'abandoned'; returns their keys.

    Call it on an autocommit connection before `record_run(..., "running")` on the same session (a
    session would see its own lock as free).
    """
    noticed = f"{noticed_by.dag_id}/{noticed_by.run_id}/{noticed_by.task_id}"
    rows = conn.execute(load_sql("run_metrics/mark_abandoned"), {"noticed_by": noticed}).fetchall()
    for row in rows:
        log.warning(
            "Task try %s stopped without recording its end: marked abandoned", "/".join(map(str, row))
        )
    return [tuple(row) for row in rows]


def _run_key(run: RunInfo) -> dict[str, Any]:
    return {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": run.task_id, "try_number": run.try_number}


def record_rejects(conn: psycopg.Connection, run: RunInfo, rejects: list[Reject]) -> None:
    if not rejects:
        return
    with conn.cursor() as cursor:
        cursor.executemany(
            load_sql("rejects/insert"),
            [
                {
                    "dag_id": run.dag_id,
                    "run_id": run.run_id,
                    "task_id": run.task_id,
                    "object_type": reject.object_type,
                    "record_id": reject.record_id,
                    "field": reject.field,
                    "reason": reject.reason,
                }
                for reject in rejects
            ],
        )
