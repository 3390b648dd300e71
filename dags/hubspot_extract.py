"""`hubspot_extract`: HubSpot CRM -> PostgreSQL, incremental, every 15 minutes (by configuration)."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from hubspot_sync.assets import association_assets, mirror_asset
from hubspot_sync.config import load_config
from hubspot_sync.dag_defaults import DATE_TIME_PATTERN, dag_kwargs, pick_list
from hubspot_sync.operators.extract import ExtractAssociationsOperator, ExtractObjectOperator
from hubspot_sync.operators.migrate import MigrateOperator

DOC = """
### HubSpot -> PostgreSQL extraction

`migrate`, then one task per configured object type, all at once (config `parallel.max_active_tasks`
caps how many), then `extract_associations`. Every HubSpot call of every task draws on one rate budget
shared in PostgreSQL, so running them together never passes HubSpot's limits. Each object task:

- discovers HubSpot's properties (custom ones included) and records drift in `hubspot_sync.property_catalog`;
- on the first run or with **full_refresh**, reads everything through the list API, helped on large
  types by CRM search over id ranges (resumable);
  otherwise reads records changed since the stored cursor (minus a lookback) through CRM search;
- marks archived records (`archived`, `archived_at`) and records merged away (`merged_into_id`);
- lands rows with COPY + one upsert per batch, committing the cursor with the data it covers;
- writes a summary to `hubspot_sync.run_metrics` and refused values to `hubspot_sync.rejects`.

Params: **full_refresh** re-reads everything; **objects** limits the run to some object types
(empty: all); **since** re-reads changes from that time (ISO 8601, UTC when no offset is given).
Params are checked before the run starts; a conf key that is not a param fails the run at once.
A backfill re-extracts exactly its intervals and never overwrites a newer version.
Configuration: `include/config/sync.yaml`.
"""

config = load_config()
objects = config.enabled_objects()

with DAG(
    dag_id="hubspot_extract",
    description="HubSpot -> PostgreSQL, incremental: records, archives, merges and associations",
    schedule=CronDataIntervalTimetable(config.schedules.extract, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    doc_md=DOC,
    params={
        "full_refresh": Param(
            False,
            type="boolean",
            title="Full refresh",
            description="Re-read every record through the list API.",
        ),
        "objects": Param(
            [],
            **pick_list(objects),
            title="Object types",
            description="Extract only these object types (associations follow them); empty: all.",
        ),
        "since": Param(
            None,
            type=["null", "string"],
            format="date-time",
            pattern=DATE_TIME_PATTERN,
            title="Changed since",
            description="Re-read records changed since this time (ISO 8601, e.g. 2026-03-01T00:00:00Z; "
            "UTC when no offset is given) instead of since the stored cursor.",
        ),
    },
    max_active_tasks=config.parallel.max_active_tasks or len(objects),
    **dag_kwargs(config, "extract"),
):
    connections = {
        "hubspot_conn_id": config.connections.hubspot,
        "postgres_conn_id": config.connections.postgres,
    }
    migrate = MigrateOperator(task_id="migrate", postgres_conn_id=config.connections.postgres)
    extract_objects = [
        ExtractObjectOperator(
            task_id=f"extract_{name}", object_type=name, outlets=[mirror_asset(name)], **connections
        )
        for name in objects
    ]
    associations = ExtractAssociationsOperator(
        task_id="extract_associations", outlets=association_assets(objects), **connections
    )
    migrate >> extract_objects >> associations
