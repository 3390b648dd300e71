"""Operators of `hubspot_reconcile`: one per object type, one for the association tables.

Thin: they turn the params (`objects`, `mode`, `full`) into a reconciliation request, wire the
HubSpot hook to the warehouse, and report: a `hubspot_sync.reconcile_runs` row per object type (or
association table), the task's summary in `hubspot_sync.run_metrics`, and a webhook alert when the
share of records found drifting passes `thresholds.reconcile_drift_alert_share`.

A try that cannot finish (daily limit, outage) records its reconcile_runs row as failed with the
reason, keeping the findings committed so far; the object types it did not cover are those rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from hubspot_sync.config import SyncConfig, load_config
from hubspot_sync.notifiers import post_alert
from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.operators.base import SyncTaskOperator
from hubspot_sync.reconcile import store
from hubspot_sync.reconcile.associations import AssociationReconciler
from hubspot_sync.reconcile.engine import ObjectReconciler, ReconcileReport, ReconcileRequest
from hubspot_sync.run_metrics import RunInfo, RunSummary, mark_abandoned, record_run


class _ReconcileBase(SyncTaskOperator):
    ui_color = "#e0f0ff"

    def _reconcile(
        self,
        context: Any,
        config: SyncConfig,
        names: list[str],
        work: Callable[[Any, Any, RunInfo, dict[str, ReconcileReport]], None],
        summary_name: str,
    ) -> dict[str, Any]:
        """Run `work`, record a reconcile_runs row per name and the task's run summary, alert on drift."""
        mode = self._params(context).get("mode") or "configured"
        compared_values = bool(self._params(context).get("full", True))
        started_at = datetime.now(UTC)
        with self._session(context) as (hook, conn, run):
            summary = RunSummary(summary_name)
            mark_abandoned(conn, run)
            store.mark_abandoned(conn)
            record_run(conn, run, summary, "running")
            reports = {name: ReconcileReport(name) for name in names}
            row = {"mode": mode, "compared_values": compared_values, "started_at": started_at}
            for name in names:
                _record(conn, run, reports[name], "running", row)
            try:
                work(hook, conn, run, reports)
            except BaseException as error:
                if not (conn.closed or conn.broken):
                    reason = f"not finished: {type(error).__name__}; the findings committed so far are kept"
                    for report in reports.values():
                        report.found, report.repaired = store.summarize(conn, run.run_id, report.object_type)
                        report.notes.append(reason)
                        _record(conn, run, report, "failed", row)
                    summary.api_calls = hook.stats.api_calls
                    record_run(conn, run, summary, "failed")
                raise
            for report in reports.values():
                _record(conn, run, report, "success", row)
            summary.records_read = sum(report.hubspot_records for report in reports.values())
            summary.records_written = sum(sum(report.repaired.values()) for report in reports.values())
            summary.api_calls = hook.stats.api_calls
            summary.rate_limited_calls = hook.stats.rate_limited
            summary.details = {
                "mode": mode,
                "compared_values": compared_values,
                "found": {name: report.found for name, report in reports.items()},
                "repaired": {name: report.repaired for name, report in reports.items()},
                "notes": [note for report in reports.values() for note in report.notes],
                "unreadable": sum(report.unreadable for report in reports.values()),
            }
            record_run(conn, run, summary, "success")
        threshold = config.thresholds.reconcile_drift_alert_share
        drifting = [report for report in reports.values() if report.found and report.drift_share > threshold]
        if drifting:
            post_alert(_drift_alert(run, drifting, threshold), config.connections.alerts)
        result = summary.as_dict()
        self.log.info("Reconciliation summary: %s", result)
        return result


class ReconcileObjectOperator(_ReconcileBase):
    """Reconciles one object type (see hubspot_sync.reconcile.engine for how)."""

    template_fields = ("object_type",)

    def __init__(self, *, object_type: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.object_type = object_type

    def execute(self, context: Any) -> dict[str, Any]:
        selected = self._selected(context)
        if selected is not None and self.object_type not in selected:
            raise AirflowSkipException(f"{self.object_type} is not in the `objects` param")
        config = load_config()
        params = self._params(context)
        request = ReconcileRequest(
            object_type=self.object_type,
            actions=config.reconcile.actions(params.get("mode")),
            compare_values=bool(params.get("full", True)),
            max_delete_share=config.reconcile.max_delete_share,
        )

        def work(hook, conn, run, reports) -> None:
            reconciler = ObjectReconciler(hook, conn, config.objects[self.object_type], run, config.models)
            reconciler.run(request, reports[self.object_type])

        return self._reconcile(context, config, [self.object_type], work, self.object_type)


class ReconcileAssociationsOperator(_ReconcileBase):
    """Reconciles every association table whose two object types are enabled (and selected)."""

    def execute(self, context: Any) -> dict[str, Any]:
        config = load_config()
        enabled = set(config.enabled_objects())
        selected = self._selected(context)
        by_from_type = defaultdict(list)
        for association in ASSOCIATION_TYPES:
            if {association.from_type, association.to_type} <= enabled and (
                selected is None or association.from_type in selected or association.to_type in selected
            ):
                by_from_type[association.from_type].append(association)
        if not by_from_type:
            raise AirflowSkipException("no association table has both its object types enabled and selected")
        actions = config.reconcile.actions(self._params(context).get("mode"))
        names = [association.table for group in by_from_type.values() for association in group]

        def work(hook, conn, run, reports) -> None:
            for group in by_from_type.values():
                AssociationReconciler(hook, conn, run, group).run(actions, reports)

        return self._reconcile(context, config, names, work, "associations")


def _record(conn, run: RunInfo, report: ReconcileReport, status: str, row: dict[str, Any]) -> None:
    finished_at = None if status == "running" else datetime.now(UTC)
    store.record_run(
        conn,
        {
            **row,
            "run_id": run.run_id,
            "dag_id": run.dag_id,
            "task_id": run.task_id,
            "object_type": report.object_type,
            "status": status,
            "hubspot_records": report.hubspot_records,
            "warehouse_records": report.warehouse_records,
            "found": report.found,
            "repaired": report.repaired,
            "drift_share": round(report.drift_share, 6) if report.found else 0,
            "api_calls": report.api_calls,
            "finished_at": finished_at,
            "seconds": (finished_at - row["started_at"]).total_seconds() if finished_at else None,
            "note": "; ".join(report.notes) or None,
        },
    )


def _drift_alert(run: RunInfo, reports: list[ReconcileReport], threshold: float) -> dict[str, Any]:
    lines = [f"HubSpot sync: reconciliation found drift above {threshold:.2%} (run {run.run_id})"]
    for report in reports:
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(report.found.items()))
        repaired = sum(report.repaired.values())
        lines.append(
            f"{report.object_type}: {report.drift_share:.2%} of {report.hubspot_records} records: {counts}; "
            f"{repaired} repaired"
        )
    names = ", ".join(f"'{report.object_type}'" for report in reports)
    lines.append(
        "See: SELECT object_type, kind, record_id, fields, repaired, repair_note FROM "
        f"hubspot_sync.reconcile_findings WHERE run_id = '{run.run_id}' AND object_type IN ({names}) "
        "ORDER BY object_type, kind, record_id"
    )
    return {
        "event": "reconcile_drift",
        "dag_id": run.dag_id,
        "task_id": run.task_id,
        "run_id": run.run_id,
        "drift": {report.object_type: report.found for report in reports},
        "text": "\n".join(lines),
    }
