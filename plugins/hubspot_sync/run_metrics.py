"""Run summaries and rejected records, written to `hubspot_sync` by every task.

`RunInfo` identifies the task try that is writing (from the Airflow context); `Reject` is one
refused record or field. Reasons never contain the refused value: it may be personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hubspot_sync.sql import load_sql


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
    """Upsert the task try's summary row (status 'running', 'success' or 'failed')."""
    finished_at = None if status == "running" else datetime.now(UTC)
    conn.execute(
        load_sql("run_metrics/record"),
        {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "task_id": run.task_id,
            "try_number": run.try_number,
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
