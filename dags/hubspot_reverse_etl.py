"""`hubspot_reverse_etl`: values computed in PostgreSQL pushed onto HubSpot records, hourly."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from hubspot_sync.config import load_config
from hubspot_sync.dag_defaults import dag_kwargs, pick_list
from hubspot_sync.operators.migrate import MigrateOperator
from hubspot_sync.operators.reverse_etl import ReverseEtlOperator

DOC = """
### PostgreSQL -> HubSpot reverse ETL

Brings the warehouse schema up to date (`migrate`), then runs one task per model declared under
`models:` in `include/config/sync.yaml`. Each model is a query in `include/sql/reverse_etl/` whose rows
become property values on HubSpot records (update by id, or update/upsert by a unique property such as
email). Only values that differ from the last successful push are sent, 100 records per batch call,
under the shared rate budget; a run where nothing changed makes no API call.

- Rows that cannot be sent (bad key, value that does not fit the property) land in `hubspot_sync.rejects`.
- Every property sent is audited in `hubspot_sync.push_audit` (new and previous value, outcome, error,
  correlationId); per-record state, including HubSpot's refusals, is in `hubspot_sync.push_state`.
  Refused values are sent again on the next runs, up to the model's `max_attempts`.
- A broken model (invalid declaration, missing SQL file, query error, missing column, duplicate keys,
  unknown or read-only property) fails its own task; the other models still run. Run counts:
  `hubspot_sync.run_metrics`.

Params: `dry_run` computes the changes without any API call and stores them in
`hubspot_sync.push_preview`; `models` runs only the chosen models (empty: all); `force_clear` lets a
model with `on_leave: clear` clear more than `thresholds.max_clear_share` of its pushed records, which
is otherwise refused as a failure before anything is sent. A conf key that is not
a param fails the run at once.

Connections: `postgres_default`, `hubspot_default`, `hubspot_sync_alerts` (optional alert webhook).
"""

config = load_config()
model_names = config.model_names()


def _task_doc(name: str) -> str | None:
    if name in config.broken_models:  # its task fails with this message instead of running
        return f"**Invalid model declaration**\n\n```\n{config.broken_models[name].message}\n```"
    return config.models[name].description or None


with DAG(
    dag_id="hubspot_reverse_etl",
    schedule=CronDataIntervalTimetable(config.schedules.reverse_etl, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    description="PostgreSQL -> HubSpot: values computed by SQL models, only what changed",
    doc_md=DOC,
    params={
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Compute and store the changes in hubspot_sync.push_preview; send nothing.",
        ),
        "models": Param(
            [],
            **pick_list(model_names),
            title="Models",
            description="Run only these models; leave empty to run every enabled model.",
        ),
        "force_clear": Param(
            False,
            type="boolean",
            title="Force clearing",
            description=(
                "Let models with on_leave: clear clear more than thresholds.max_clear_share of the records "
                "they pushed (e.g. after a deliberate purge of their source rows)."
            ),
        ),
    },
    **dag_kwargs(config, "reverse-etl", writes_to_hubspot=True),
):
    migrate = MigrateOperator(task_id="migrate", postgres_conn_id=config.connections.postgres)
    for name in model_names:
        migrate >> ReverseEtlOperator(
            task_id=f"push_{name}",
            model_name=name,
            postgres_conn_id=config.connections.postgres,
            hubspot_conn_id=config.connections.hubspot,
            doc_md=_task_doc(name),
        )
