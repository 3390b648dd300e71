"""Operators of the privacy tasks in `hubspot_reconcile`: erasure requests, and retention.

Thin: they wire the HubSpot hook and the warehouse to hubspot_sync.privacy and record the task's
summary (counts only, never an email or an id) in `hubspot_sync.run_metrics`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from airflow.sdk import BaseOperator

from hubspot_sync.config import load_config
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.hooks.warehouse import WarehouseHook
from hubspot_sync.privacy.engine import ErasureEngine, ErasureRequest
from hubspot_sync.privacy.minimise import property_policy
from hubspot_sync.privacy.retention import prune
from hubspot_sync.run_metrics import RunInfo, RunSummary, mark_abandoned, record_run


class EraseRequestedOperator(BaseOperator):
    """Processes `hubspot_sync.erasure_requests`: GDPR deletion in HubSpot, then erasure in the warehouse."""

    ui_color = "#fde8e8"

    def __init__(
        self,
        *,
        hubspot_conn_id: str = "hubspot_default",
        postgres_conn_id: str = "postgres_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.hubspot_conn_id = hubspot_conn_id
        self.postgres_conn_id = postgres_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        config = load_config()
        run = RunInfo.from_context(context)
        models = tuple(name for name, model in config.models.items() if model.object_type == "contacts")
        contacts = config.objects.get("contacts")
        stored_email = None
        if contacts is not None and "email" in contacts.pseudonymise:
            stored_email = partial(property_policy("contacts", contacts, ("email",)).hide, "email")
        warehouse = WarehouseHook(postgres_conn_id=self.postgres_conn_id)
        hook = HubSpotHook(self.hubspot_conn_id, budget_conn_factory=warehouse.connect)
        summary = RunSummary("contacts")
        with warehouse.connect() as conn:
            conn.autocommit = True
            mark_abandoned(conn, run)
            record_run(conn, run, summary, "running")
            try:
                report = ErasureEngine(hook, conn).run(
                    ErasureRequest(models=models, run_id=run.run_id, stored_email=stored_email)
                )
            except BaseException:
                summary.api_calls = hook.stats.api_calls
                record_run(conn, run, summary, "failed")
                raise
            finally:
                hook.close()
            summary.records_written = report.records_erased
            summary.api_calls = hook.stats.api_calls
            summary.rate_limited_calls = hook.stats.rate_limited
            summary.details = {
                "requests_done": report.done,
                "requests_failed": report.failed,
                "copies_erased": report.copies_erased,
            }
            record_run(conn, run, summary, "success")
        result = summary.as_dict()
        self.log.info("Erasure requests: %s", result)
        return result


class PruneRetentionOperator(BaseOperator):
    """Deletes bookkeeping rows past the ages under `retention:` in the sync configuration."""

    ui_color = "#f0f0f0"

    def __init__(self, *, postgres_conn_id: str = "postgres_default", **kwargs) -> None:
        super().__init__(**kwargs)
        self.postgres_conn_id = postgres_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        policy = load_config().retention
        with WarehouseHook(postgres_conn_id=self.postgres_conn_id).connect() as conn:
            deleted = prune(conn, policy, datetime.now(UTC))
        self.log.info("Rows past their retention deleted: %s", deleted)
        return {"deleted": deleted}
