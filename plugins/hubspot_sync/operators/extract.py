"""Operators of `hubspot_extract`: one per object type, one for associations.

Thin: they turn the Airflow context (data interval, run type, params) into an extraction
request, wire the HubSpot hook to the warehouse, record the run summary and return it.

Failures that a retry cannot fix (too many rejects, a column PostgreSQL will not retype) are
final (`AirflowFailException`): a retry of a failed reject gate would find the cursor already
past the rejected records, read nothing and succeed, hiding the failure. A lost warehouse
connection is reported as itself (address, cause, what was committed), never as the follow-on
"connection is closed" of the cleanup that runs after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from hubspot_sync.config import load_config
from hubspot_sync.extract.associations import extract_associations
from hubspot_sync.extract.engine import ExtractRequest, ObjectExtractor, RejectShareExceeded
from hubspot_sync.extract.retype import RetypeRefused
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.hooks.warehouse import (
    WarehouseConnectionLost,
    WarehouseStatementFailed,
    address,
    describe_error,
)
from hubspot_sync.metrics import freshness_lag_seconds
from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.operators.base import SyncTaskOperator
from hubspot_sync.run_metrics import RunInfo, RunSummary, mark_abandoned, record_run
from hubspot_sync.sql import load_sql
from hubspot_sync.values import epoch_ms, parse_datetime


class _ExtractBase(SyncTaskOperator):
    ui_color = "#ffe8cc"

    def _recorded(
        self, conn, hook: HubSpotHook, run: RunInfo, summary: RunSummary, work: Callable[[], None]
    ) -> dict[str, Any]:
        mark_abandoned(conn, run)
        record_run(conn, run, summary, "running")
        where = address(conn)
        try:
            work()
        except psycopg.Error as error:
            self._record_failure(conn, hook, run, summary)
            if conn.closed or conn.broken:
                raise WarehouseConnectionLost(_lost_message(error, where, summary)) from None
            raise WarehouseStatementFailed(
                f"PostgreSQL at {where} refused a statement while extracting {summary.object_type}: "
                f"{describe_error(error)}"
            ) from None
        except (RejectShareExceeded, RetypeRefused) as error:
            self._record_failure(conn, hook, run, summary)
            raise AirflowFailException(str(error)) from None
        except BaseException:
            self._record_failure(conn, hook, run, summary)
            raise
        record_run(conn, run, summary, "success")
        result = summary.as_dict()
        self.log.info("Run summary: %s", result)
        return result

    def _record_failure(
        self, conn: psycopg.Connection, hook: HubSpotHook, run: RunInfo, summary: RunSummary
    ) -> None:
        # The calls of a failed try count too, above all the 429 that stopped it.
        _count_calls(summary, hook)
        # Best effort: without a connection the row stays 'running' until a later task marks it
        # abandoned, and the error that stopped the task matters more than this one.
        if conn.closed or conn.broken:
            return
        try:
            record_run(conn, run, summary, "failed")
        except psycopg.Error as error:
            self.log.warning("Could not record the failed run: %s", type(error).__name__)


class ExtractObjectOperator(_ExtractBase):
    """Extracts one object type (see hubspot_sync.extract.engine for how)."""

    template_fields = ("object_type",)

    def __init__(self, *, object_type: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.object_type = object_type

    def execute(self, context: Any) -> dict[str, Any]:
        selected = self._selected(context)
        if selected is not None and self.object_type not in selected:
            raise AirflowSkipException(f"{self.object_type} is not in the `objects` param")
        config = load_config()
        request = ExtractRequest(
            object_type=self.object_type,
            window_end_ms=_window_end_ms(context),
            full_refresh=bool((context.get("params") or {}).get("full_refresh")),
            since_ms=_since_ms(context),
            lookback_ms=config.thresholds.search_lookback_minutes * 60_000,
            max_reject_share=config.thresholds.max_reject_share,
            archive_sweep_ms=config.thresholds.archive_sweep_minutes * 60_000,
            readers=config.parallel.requests_in_flight,
            split_min_records=config.parallel.split_min_records,
            associations=tuple(
                association
                for association in ASSOCIATION_TYPES
                if association.from_type == self.object_type
                and association.to_type in config.enabled_objects()
            ),
        )
        with self._session(context) as (hook, conn, run):
            summary = RunSummary(self.object_type)
            lock = {"object_type": self.object_type}

            def work() -> None:
                conn.execute(load_sql("extract/lock"), lock)
                try:
                    # Filled as batches commit: after a failure it still says what is in the warehouse.
                    ObjectExtractor(hook, conn, config.objects[self.object_type], run).run(request, summary)
                    summary.details["freshness_lag_seconds"] = freshness_lag_seconds(conn, self.object_type)
                finally:
                    # A lost session has released the lock already; unlocking it would only fail.
                    if not (conn.closed or conn.broken):
                        conn.execute(load_sql("extract/unlock"), lock)

            return self._recorded(conn, hook, run, summary, work)


class ExtractAssociationsOperator(_ExtractBase):
    """Refreshes every association table whose two object types are enabled, its batch reads
    `parallel.requests_in_flight` at a time."""

    def execute(self, context: Any) -> dict[str, Any]:
        config = load_config()
        enabled = set(config.enabled_objects())
        selected = self._selected(context)
        wanted = [
            association
            for association in ASSOCIATION_TYPES
            if {association.from_type, association.to_type} <= enabled
            and (selected is None or association.from_type in selected or association.to_type in selected)
        ]
        period_ms = round(config.thresholds.association_sweep_hours * 3_600_000)
        with self._session(context) as (hook, conn, run):
            summary = RunSummary("associations")

            def work() -> None:
                extract_associations(
                    hook,
                    conn,
                    wanted,
                    summary,
                    run.run_id,
                    period_ms,
                    requests_in_flight=config.parallel.requests_in_flight,
                )
                _count_calls(summary, hook)

            return self._recorded(conn, hook, run, summary, work)


def _count_calls(summary: RunSummary, hook: HubSpotHook) -> None:
    """The task's own hook made every call of the try: its counts are the try's."""
    summary.api_calls = hook.stats.api_calls
    summary.rate_limited_calls = hook.stats.rate_limited
    summary.details["retries"] = hook.stats.retries


def _lost_message(error: BaseException, where: str, summary: RunSummary) -> str:
    cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
    batches = summary.details.get("batches_committed", 0)
    cursor = summary.details.get("cursor_committed", "the cursor did not move")
    return (
        f"Lost the warehouse connection (PostgreSQL at {where}) while extracting {summary.object_type}: "
        f"{cause}. Committed before that: {summary.records_written} rows changed in {batches} batches; "
        f"cursor: {cursor}. The next run resumes from what was committed."
    )


def _window_end_ms(context: Any) -> int:
    """Scheduled runs and backfills end at their interval's end; manual runs read up to now."""
    end = context.get("data_interval_end")
    if end is not None and _run_type(context) != "manual":
        return epoch_ms(end)
    return int(time.time() * 1000)


def _since_ms(context: Any) -> int | None:
    """An explicit `since` param, or a backfill's interval start; otherwise the stored cursor rules."""
    since = (context.get("params") or {}).get("since")
    if since:
        return epoch_ms(since if isinstance(since, datetime) else parse_datetime(str(since)))
    if _run_type(context) == "backfill" and context.get("data_interval_start"):
        return epoch_ms(context["data_interval_start"])
    return None


def _run_type(context: Any) -> str:
    """'scheduled', 'manual', 'backfill', ... whichever enum class the context's dag run carries."""
    run_type = getattr(context.get("dag_run"), "run_type", None) or ""
    return str(getattr(run_type, "value", run_type)).lower()
