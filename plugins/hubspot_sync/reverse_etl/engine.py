"""One model's run: query, diff against push state, validate, send in batches, record every outcome.

Order matters for "nothing lost, nothing sent twice": push state changes only after HubSpot answered a
batch, in the same transaction as that batch's audit rows. A crash before that commit leaves the batch
unconfirmed, so the rerun diffs it as changed and sends it again (the same values: harmless); batches
committed before the crash are not sent again.

Rows that cannot be sent go to hubspot_sync.rejects; when they pass `thresholds.max_reject_share` of
the rows read, the task fails before sending anything (a model that suddenly rejects many rows is more
likely broken than its data). Inputs HubSpot refuses are recorded per record and sent again next run.

A run with nothing changed makes no API call: property definitions are read only when there is
something to validate. A dry run makes none at all: it validates against the definitions the last real
run read (kept in hubspot_sync.push_property_cache) and stores its preview in hubspot_sync.push_preview.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotRequestError
from hubspot_sync.reverse_etl import store
from hubspot_sync.reverse_etl.diff import Change, plan_changes
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.reverse_etl.responses import batch_input, input_errors, whole_batch_error
from hubspot_sync.reverse_etl.store import ModelError
from hubspot_sync.reverse_etl.values import InvalidValue, PropertyDefinition, mapping_problems, to_wire
from hubspot_sync.run_metrics import Reject, RunInfo, RunSummary, record_rejects, record_run

log = logging.getLogger(__name__)

BATCH_SIZE = 100  # HubSpot's maximum inputs per batch call


@dataclass(frozen=True)
class Settings:
    dry_run: bool = False
    max_reject_share: float = 0.05


def push_model(
    conn: psycopg.Connection,
    hubspot: HubSpotHook,
    name: str,
    model: ReverseEtlModel,
    run: RunInfo,
    settings: Settings | None = None,
) -> RunSummary:
    """Push one model's changes to HubSpot (or preview them); returns the run's counts."""
    settings = settings or Settings()
    summary = RunSummary(object_type=model.object_type, details={"model": name, "dry_run": settings.dry_run})
    record_run(conn, run, summary, "running")
    conn.commit()
    try:
        _run(conn, hubspot, name, model, run, settings, summary)
    except BaseException:
        _record_failure(conn, run, summary, hubspot)
        raise
    _count_calls(summary, hubspot)
    record_run(conn, run, summary, "success")
    conn.commit()
    return summary


def _record_failure(
    conn: psycopg.Connection, run: RunInfo, summary: RunSummary, hubspot: HubSpotHook
) -> None:
    # Best effort: when the warehouse itself is what failed, the original error matters more.
    _count_calls(summary, hubspot)
    try:
        conn.rollback()
        record_run(conn, run, summary, "failed")
        conn.commit()
    except psycopg.Error as error:
        log.warning("Could not record the failed run of %s: %s", summary.details.get("model"), error)


def _run(
    conn: psycopg.Connection,
    hubspot: HubSpotHook,
    name: str,
    model: ReverseEtlModel,
    run: RunInfo,
    settings: Settings,
    summary: RunSummary,
) -> None:
    source = store.read_model(conn, name, model)
    try:
        candidates = store.candidates(conn, name)
        plan = plan_changes(
            candidates,
            store.leaving(conn, name),
            properties=model.properties.values(),
            mode=model.mode,
            on_leave=model.on_leave,
            max_attempts=model.max_attempts,
        )
    finally:
        store.drop_rows(conn)
    unchanged = source.stored - len(candidates) + plan.unchanged
    summary.records_read = source.read
    summary.details.update(unchanged=unchanged, held=plan.held, left_model=plan.left)
    rejects = list(source.rejects)
    sendable: list[tuple[Change, dict[str, str]]] = []
    if plan.changes:
        definitions = _definitions(conn, hubspot, model, settings.dry_run)
        if definitions is None:
            summary.details["validated"] = "no property definitions cached yet: types were not checked"
            sendable = [(change, change.values) for change in plan.changes]
        else:
            where = f"model {name} ({model.sql_path})"
            problems = mapping_problems(model.properties, model.key.property, definitions)
            if problems:
                raise ModelError(f"{where}: {'; '.join(problems)}")
            sendable, refused = _validate(plan.changes, definitions, model.object_type)
            rejects += refused
    summary.records_rejected = len(rejects)
    summary.details["changed"] = len(sendable)
    if settings.dry_run:
        store.store_preview(conn, name, run, sendable, rejects)
        log.info("Dry run of %s: %d records would be sent, %d rejected", name, len(sendable), len(rejects))
        return
    with conn.transaction():
        record_rejects(conn, run, rejects)
    _check_share(name, len(rejects), source.read, settings, "rejected", "hubspot_sync.rejects")
    failed = _send(conn, hubspot, name, model, run, sendable)
    summary.records_written = len(sendable) - failed
    summary.details["failed"] = failed
    log.info(
        "Model %s: %d read, %d sent, %d accepted, %d failed, %d rejected, %d unchanged, %d held",
        name,
        source.read,
        len(sendable),
        len(sendable) - failed,
        failed,
        len(rejects),
        unchanged,
        plan.held,
    )
    _check_share(name, failed, source.read, settings, "refused by HubSpot", "hubspot_sync.push_state")


def _definitions(
    conn: psycopg.Connection, hubspot: HubSpotHook, model: ReverseEtlModel, dry_run: bool
) -> dict[str, PropertyDefinition] | None:
    if dry_run:
        raw = store.cached_definitions(conn, model.object_type)
        if raw is None:
            return None
    else:
        raw = hubspot.get_properties(model.object_type)
        store.cache_definitions(conn, model.object_type, raw)
    definitions = [PropertyDefinition.from_api(item) for item in raw if not item.get("archived")]
    return {definition.name: definition for definition in definitions}


def _validate(
    changes: list[Change], definitions: dict[str, PropertyDefinition], object_type: str
) -> tuple[list[tuple[Change, dict[str, str]]], list[Reject]]:
    sendable, rejects = [], []
    for change in changes:
        wire: dict[str, str] = {}
        for prop, value in change.values.items():
            try:
                wire[prop] = to_wire(definitions[prop], value)
            except InvalidValue as invalid:
                rejects.append(Reject(object_type, change.key, prop, str(invalid)))
                break
        else:
            sendable.append((change, wire))
    return sendable, rejects


def _send(
    conn: psycopg.Connection,
    hubspot: HubSpotHook,
    name: str,
    model: ReverseEtlModel,
    run: RunInfo,
    sendable: list[tuple[Change, dict[str, str]]],
) -> int:
    """Send in batches of 100 per operation; returns how many inputs HubSpot refused."""
    failed_total = 0
    for operation in ("upsert", "update"):
        pending = [item for item in sendable if item[0].operation == operation]
        for batch in store.chunks(pending, BATCH_SIZE):
            keys = [change.key for change, _ in batch]
            inputs = [batch_input(change, wire, model.key.property) for change, wire in batch]
            try:
                response = hubspot.batch_write(model.object_type, operation, inputs)
                failed = input_errors(keys, response.status, response.body, response.headers)
            except HubSpotRequestError as refused:
                # The batch as a whole was refused (4xx): record it against every input and go on.
                failed = whole_batch_error(keys, "BATCH_REFUSED", str(refused), refused.correlation_id)
            store.record_batch(conn, name, model, run, batch, failed)
            failed_total += len(failed)
    return failed_total


def _check_share(name: str, count: int, read: int, settings: Settings, what: str, table: str) -> None:
    if count and count > settings.max_reject_share * max(read, 1):
        raise ModelError(
            f"model {name}: {count} of {read} records were {what}, more than the allowed share "
            f"{settings.max_reject_share:.0%} (thresholds.max_reject_share); see {table} for the reasons"
        )


def _count_calls(summary: RunSummary, hubspot: HubSpotHook) -> None:
    stats: dict[str, Any] = hubspot.stats.as_dict()
    summary.api_calls = stats["api_calls"]
    summary.rate_limited_calls = stats["rate_limited"]
    summary.details["calls_by_operation"] = stats["by_operation"]
