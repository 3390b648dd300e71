"""`hubspot_reconcile`: nightly comparison of HubSpot and PostgreSQL, with drift report and repair."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from hubspot_sync.config import load_config
from hubspot_sync.dag_defaults import dag_kwargs, pick_list
from hubspot_sync.operators.migrate import MigrateOperator
from hubspot_sync.operators.privacy import EraseRequestedOperator, PruneRetentionOperator
from hubspot_sync.operators.reconcile import ReconcileAssociationsOperator, ReconcileObjectOperator

DOC = """
### Nightly reconciliation

`migrate`, then one task per enabled object type (in parallel), then `reconcile_associations`.
Each object task lists HubSpot's live and archived records (100 a page, only ids, last-modified,
merged ids and the configured typed properties), stages them in PostgreSQL and compares them with
`hubspot.<object>` in one query. Differences, one finding each in `hubspot_sync.reconcile_findings`:

- **missing**: in HubSpot, not in PostgreSQL; **extra**: in PostgreSQL, deleted for good in HubSpot;
- **stale**: PostgreSQL holds an older version; **newer_in_warehouse**: a later one (reported only);
- **archived_differs**, **merged_differs**: the archived or merged state disagrees;
- **values_differ**: same last-modified, different typed values (a missed update; `fields` names them);
- **pushed_overwritten**: a value reverse ETL pushed was changed in HubSpot (who: `detail.written_by`);
- **association_missing**, **association_extra** (task `reconcile_associations`).

Repairs follow `reconcile:` in the configuration (per kind `report` or `repair`): records are read
again by batch read and landed by the extraction's own code; rows of records deleted for good are
removed with their associations (audit: `hubspot_sync.deleted_records`); associations are re-read;
overwritten pushed values are re-pushed or accepted by the model's `on_overwrite`.
One row per object type in `hubspot_sync.reconcile_runs`; an alert when drift passes
`thresholds.reconcile_drift_alert_share`.

Privacy (README, "Privacy"): contacts HubSpot deleted for good are erased (every copy of their
values, a tombstone in `hubspot_sync.erasures`); `erase_requested` processes
`hubspot_sync.erasure_requests` (GDPR deletion in HubSpot, then the same erasure);
`prune_retention` deletes bookkeeping rows past the ages under `retention:`.

Params: **objects** limits the run to some object types (empty: all); **mode** `report` only
records findings, `repair` repairs every kind, empty follows the configuration; **full** also
compares typed values (off: ids, states and last-modified times only).
Configuration: `include/config/sync.yaml`.
"""

config = load_config()
objects = config.enabled_objects()

with DAG(
    dag_id="hubspot_reconcile",
    description="Nightly comparison of HubSpot and PostgreSQL: drift findings and repairs",
    schedule=CronDataIntervalTimetable(config.schedules.reconcile, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    doc_md=DOC,
    params={
        "objects": Param(
            [],
            **pick_list(objects),
            title="Object types",
            description="Reconcile only these object types (and their associations); empty: all.",
        ),
        "mode": Param(
            None,
            type=["null", "string"],
            enum=[None, "report", "repair"],
            title="Mode",
            description="report: record findings only; repair: repair every kind; empty: as configured "
            "under reconcile: in the sync configuration.",
        ),
        "full": Param(
            True,
            type="boolean",
            title="Compare values",
            description="Also compare the configured typed properties, not only ids, states and times.",
        ),
    },
    **dag_kwargs(config, "reconcile", writes_to_hubspot=True),
):
    connections = {
        "hubspot_conn_id": config.connections.hubspot,
        "postgres_conn_id": config.connections.postgres,
    }
    migrate = MigrateOperator(task_id="migrate", postgres_conn_id=config.connections.postgres)
    compared = [
        ReconcileObjectOperator(task_id=f"reconcile_{name}", object_type=name, **connections)
        for name in objects
    ]
    migrate >> compared >> ReconcileAssociationsOperator(task_id="reconcile_associations", **connections)
    # Beside the comparison, neither waiting on it nor blocking it; a contact erased while it is listed
    # is at worst reported `missing` and not repaired (HubSpot no longer returns it).
    migrate >> EraseRequestedOperator(task_id="erase_requested", **connections)
    migrate >> PruneRetentionOperator(task_id="prune_retention", postgres_conn_id=config.connections.postgres)
