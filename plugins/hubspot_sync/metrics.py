"""Run counts sent through Airflow's metrics system (StatsD or OpenTelemetry, as the deployment says).

Sent once per task try, when its summary row is final (run_metrics.record_run). Names carry the
task id, so plain StatsD (no tags) still tells object types and models apart:

    hubspot_sync.<task_id>.records_read / records_written / records_rejected    counters
    hubspot_sync.<task_id>.api_calls / rate_limited_calls                       counters
    hubspot_sync.<task_id>.runs_<status>                                        counter (1)
    hubspot_sync.<task_id>.freshness_lag_seconds                                gauge (extraction)

Airflow puts its prefix (`airflow.` by default) in front. Backends that take tags also get
dag_id, task_id and object_type. Metrics never fail a task: a broken metrics backend is logged.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import psycopg

from hubspot_sync.sql import load_sql

if TYPE_CHECKING:
    from hubspot_sync.run_metrics import RunInfo, RunSummary

log = logging.getLogger(__name__)

COUNTERS = ("records_read", "records_written", "records_rejected", "api_calls", "rate_limited_calls")
PREFIX = "hubspot_sync"


def metric_name(task_id: str, measure: str) -> str:
    from airflow.sdk.observability.stats import normalize_name_for_stats

    return normalize_name_for_stats(f"{PREFIX}.{task_id}.{measure}", log_warning=False)


def emit(run: RunInfo, summary: RunSummary, status: str) -> None:
    """Send a finished try's counts (and freshness lag, when the summary holds one)."""
    try:
        from airflow.sdk.observability import stats

        _ensure_backend(stats)
        tags = {"dag_id": run.dag_id, "task_id": run.task_id, "object_type": summary.object_type or ""}
        for measure in COUNTERS:
            stats.incr(metric_name(run.task_id, measure), count=int(getattr(summary, measure)), tags=tags)
        stats.incr(metric_name(run.task_id, f"runs_{status}"), tags=tags)
        lag = summary.details.get("freshness_lag_seconds")
        if lag is not None:
            stats.gauge(metric_name(run.task_id, "freshness_lag_seconds"), float(lag), tags=tags)
    except Exception as error:  # metrics are an aid: the run's outcome must not depend on them
        log.warning("Could not send run metrics for %s: %s", run.task_id, error)


def freshness_lag_seconds(conn: psycopg.Connection, object_type: str) -> float | None:
    """Seconds between now and the newest change the warehouse is known to hold for `object_type`."""
    row = conn.execute(load_sql("extract/read_cursor"), {"object_type": object_type}).fetchone()
    cursor_ms = row[0] if row else None
    if cursor_ms is None:
        return None
    return round(max(time.time() - cursor_ms / 1000, 0.0), 3)


def _ensure_backend(stats) -> None:
    """A worker's task runner configures the metrics backend before running a task; `dag.test()` and
    `airflow tasks test` run tasks in-process without that step, so configure it the same way here."""
    from airflow.sdk._shared.observability.metrics import stats as shared_stats

    if shared_stats._factory is None:
        from airflow.sdk.configuration import conf
        from airflow.sdk.observability.metrics import stats_utils

        stats.initialize(
            factory=stats_utils.get_stats_factory(),
            export_legacy_names=conf.getboolean("metrics", "legacy_names_on"),
        )
