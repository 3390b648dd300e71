"""`hubspot_reconcile`: nightly comparison of HubSpot and PostgreSQL, with drift report and repair."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, CronDataIntervalTimetable

from hubspot_sync.config import load_config
from hubspot_sync.dag_defaults import dag_kwargs
from hubspot_sync.operators.migrate import MigrateOperator

DOC = """
### Nightly reconciliation

Brings the warehouse schema up to date (`migrate`). Comparing both sides and repairing drift
is not part of this release yet: the DAG currently applies migrations only.

Configuration: `include/config/sync.yaml`. Connections: `postgres_default`, `hubspot_sync_alerts`.
"""

config = load_config()

with DAG(
    dag_id="hubspot_reconcile",
    description="Reconciliation of the PostgreSQL mirror with HubSpot",
    schedule=CronDataIntervalTimetable(config.schedules.reconcile, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    doc_md=DOC,
    **dag_kwargs(config, "reconcile"),
):
    MigrateOperator(task_id="migrate", postgres_conn_id=config.connections.postgres)
