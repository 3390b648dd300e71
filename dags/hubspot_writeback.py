"""`hubspot_writeback`: PostgreSQL edits of two-way fields pushed to HubSpot, seconds after they commit."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, Asset, AssetWatcher, Param, chain
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from hubspot_sync.config import load_config
from hubspot_sync.dag_defaults import dag_kwargs, pick_list
from hubspot_sync.operators.migrate import MigrateOperator
from hubspot_sync.operators.writeback import WritebackOperator
from hubspot_sync.writeback.events import OutboxNotifyTrigger

DOC = """
### PostgreSQL -> HubSpot write-back of two-way fields

Columns declared under `two_way:` of an object type in `include/config/sync.yaml` can be edited in
PostgreSQL (`hubspot.<object>`). Triggers record each edit in `hubspot_sync.outbox` (last value per
field, who and when) and notify; this DAG then runs (the `hubspot_sync_outbox` asset, watched in the
triggerer, or the cron safety net `schedules.writeback`):

`migrate`, then one task per object type with two-way fields: creates (rows inserted with a negative
id), field updates (batch update, 100 a call; conflicts settled by the field's rule and recorded in
`hubspot_sync.conflicts`), archives (`archived = true`). A value HubSpot refuses fails only its entry,
with HubSpot's reason: `hubspot_sync.<object>_sync_status` shows it per record.

Params: **objects** limits the run to some object types (empty: all).
"""

config = load_config()
objects = [name for name in config.enabled_objects() if config.objects[name].two_way.fields]

outbox = Asset(
    name="hubspot_sync_outbox",
    uri="hubspot-sync://outbox",
    watchers=[
        AssetWatcher(
            name="hubspot_sync_outbox_notify",
            trigger=OutboxNotifyTrigger(postgres_conn_id=config.connections.postgres),
        )
    ],
)

with DAG(
    dag_id="hubspot_writeback",
    description="PostgreSQL -> HubSpot: edits made to two-way fields in the warehouse",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(config.schedules.writeback, timezone="UTC"), assets=outbox
    ),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    doc_md=DOC,
    params={
        "objects": Param(
            [],
            **pick_list(objects),
            title="Object types",
            description="Push only these object types' edits; empty: all with two-way fields.",
        ),
    },
    **dag_kwargs(config, "writeback", writes_to_hubspot=True),
):
    chain(
        MigrateOperator(task_id="migrate", postgres_conn_id=config.connections.postgres),
        [
            WritebackOperator(
                task_id=f"writeback_{name}",
                object_type=name,
                postgres_conn_id=config.connections.postgres,
                hubspot_conn_id=config.connections.hubspot,
            )
            for name in objects
        ],
    )
