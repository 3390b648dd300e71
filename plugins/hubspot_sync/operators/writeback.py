"""Pushes one object type's PostgreSQL edits of two-way fields to HubSpot: wiring, lock, run summary."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from hubspot_sync.config import load_config


class WritebackOperator(BaseOperator):
    """Prepares the table (typed columns, capture trigger as configured), then runs the write-back.

    Holds the object type's write-back lock for the whole push (runs started by the cron and by an
    edit's notification may overlap). Returns the counts, also kept in `hubspot_sync.run_metrics`.
    """

    template_fields = ("object_type", "postgres_conn_id", "hubspot_conn_id")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        object_type: str,
        postgres_conn_id: str = "postgres_default",
        hubspot_conn_id: str = "hubspot_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object_type = object_type
        self.postgres_conn_id = postgres_conn_id
        self.hubspot_conn_id = hubspot_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        # Imported here, not at the top: the DAG file imports this module, and parsing must stay fast.
        from hubspot_sync.extract.store import ensure_columns
        from hubspot_sync.hooks.hubspot import HubSpotHook
        from hubspot_sync.hooks.warehouse import WarehouseHook
        from hubspot_sync.run_metrics import RunInfo, RunSummary, mark_abandoned, record_run
        from hubspot_sync.writeback import store, triggers
        from hubspot_sync.writeback.engine import ObjectWriteback, WritebackRequest

        selected = list((context.get("params") or {}).get("objects") or [])
        if selected and self.object_type not in selected:
            raise AirflowSkipException(f"{self.object_type} is not in the `objects` param")
        config = load_config()
        object_config = config.objects[self.object_type]
        rules = object_config.two_way.rules()
        warehouse = WarehouseHook(postgres_conn_id=self.postgres_conn_id)
        conn = warehouse.connect()
        conn.autocommit = True
        hook = HubSpotHook(self.hubspot_conn_id, budget_conn_factory=warehouse.connect)
        run = RunInfo.from_context(context)
        summary = RunSummary(self.object_type)
        try:
            with conn.transaction():
                ensure_columns(conn, self.object_type, {f: object_config.properties[f] for f in rules})
                triggers.install(conn, self.object_type, list(rules))
            mark_abandoned(conn, run)
            record_run(conn, run, summary, "running")
            store.lock(conn, self.object_type)
            try:
                request = WritebackRequest(self.object_type, rules, dict(object_config.properties))
                writeback = ObjectWriteback(
                    hook, conn, request, run, requests_in_flight=config.parallel.requests_in_flight
                )
                summary.details.update(writeback.run())
            except BaseException:
                summary.api_calls = hook.stats.api_calls
                if not (conn.closed or conn.broken):
                    record_run(conn, run, summary, "failed")
                raise
            finally:
                if not (conn.closed or conn.broken):
                    store.unlock(conn, self.object_type)
            summary.api_calls = hook.stats.api_calls
            summary.rate_limited_calls = hook.stats.rate_limited
            summary.records_written = summary.details.get("entries_synced", 0)
            record_run(conn, run, summary, "success")
        finally:
            hook.close()
            conn.close()
        result = summary.as_dict()
        self.log.info("Write-back summary: %s", result)
        return result
