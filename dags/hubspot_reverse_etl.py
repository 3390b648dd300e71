"""`hubspot_reverse_etl`: values computed in PostgreSQL pushed onto HubSpot records, hourly."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, CronDataIntervalTimetable

from hubspot_sync.config import load_config
from hubspot_sync.dag_defaults import dag_kwargs
from hubspot_sync.operators.migrate import MigrateOperator

DOC = """
### PostgreSQL -> HubSpot reverse ETL

Brings the warehouse schema up to date (`migrate`). Pushing model results to HubSpot is not
part of this release yet: the DAG currently applies migrations only and sends nothing.

Configuration: `include/config/sync.yaml`. Connections: `postgres_default`, `hubspot_sync_alerts`.
"""

config = load_config()

with DAG(
    dag_id="hubspot_reverse_etl",
    schedule=CronDataIntervalTimetable(config.schedules.reverse_etl, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    doc_md=DOC,
    **dag_kwargs(config, "reverse-etl"),
):
    MigrateOperator(task_id="migrate", postgres_conn_id=config.connections.postgres)
