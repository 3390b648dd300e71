"""`hubspot_extract`: HubSpot CRM -> PostgreSQL, incremental, every 15 minutes (by configuration)."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, CronDataIntervalTimetable

from hubspot_sync.config import load_config
from hubspot_sync.dag_defaults import dag_kwargs
from hubspot_sync.operators.migrate import MigrateOperator

DOC = """
### HubSpot -> PostgreSQL extraction

Brings the warehouse schema up to date (`migrate`). Extraction of the configured objects
(companies, contacts, deals, then associations) into schema `hubspot` is not part of this
release yet: the DAG currently applies migrations only and syncs no records.

Configuration: `include/config/sync.yaml`. Connections: `postgres_default` (warehouse),
`hubspot_sync_alerts` (optional alert webhook).
"""

config = load_config()

with DAG(
    dag_id="hubspot_extract",
    schedule=CronDataIntervalTimetable(config.schedules.extract, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    doc_md=DOC,
    **dag_kwargs(config, "extract"),
):
    MigrateOperator(task_id="migrate", postgres_conn_id=config.connections.postgres)
