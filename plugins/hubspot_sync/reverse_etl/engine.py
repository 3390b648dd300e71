"""One model's run: query, diff against push state, validate, send in batches, record every outcome.

Order matters for "nothing lost, nothing sent twice": push state changes only after HubSpot answered a
batch, in the same transaction as that batch's audit rows. A crash before that commit leaves the batch
unconfirmed, so the rerun diffs it as changed and sends it again (the same values: harmless); batches
committed before the crash are not sent again.

Changed rows are handled in slices of SLICE_ROWS, so a worker's memory does not grow with the model.
Rows that cannot be sent go to hubspot_sync.rejects; once they pass `thresholds.max_reject_share` of
the rows read, the task fails before sending the next slice (a model that suddenly rejects many rows
is more likely broken than its data). A batch HubSpot refuses whole is taken apart until its bad
inputs are isolated (send.py; the extra calls are counted as `isolation_calls`); inputs HubSpot refuses
are recorded per record and sent again on the next run. Up to `requests_in_flight` batches are sent at
once, on worker threads that never touch the connection (send.py); a slice's batches are all answered
and recorded before the next slice is diffed.

A run with nothing changed makes no API call, and property definitions come from a cache that is
refreshed whenever it may be wrong (definitions.py). A dry run makes no call at all and stores its
preview in hubspot_sync.push_preview.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.progress import Progress
from hubspot_sync.reverse_etl import store
from hubspot_sync.reverse_etl.definitions import Definitions, DefinitionSource
from hubspot_sync.reverse_etl.diff import Change, Plan, PushState, plan_changes
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.reverse_etl.send import BatchSender
from hubspot_sync.reverse_etl.store import ModelError
from hubspot_sync.reverse_etl.values import InvalidValue, PropertyDefinition, mapping_problems, to_wire
from hubspot_sync.run_metrics import Reject, RunInfo, RunSummary, record_rejects, record_run

log = logging.getLogger(__name__)

# Candidate rows diffed, validated and sent at a time; a multiple of the batch size (send.BATCH_SIZE),
# so no batch is short.
SLICE_ROWS = 10_000


@dataclass(frozen=True)
class Settings:
    dry_run: bool = False
    max_reject_share: float = 0.05
    # `on_leave: clear` refuses a run that would clear more than this share of the records it pushed
    # (a truncated or half-loaded source table looks exactly like that), unless `force_clear` is set.
    max_clear_share: float = 0.2
    force_clear: bool = False
    # Batch calls in flight at once (the config's parallel.requests_in_flight); 1 sends one at a time.
    requests_in_flight: int = 1


class ClearRefused(ModelError):
    """The run would clear more of the model's pushed records than allowed; nothing was sent."""


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
    summary.records_read = source.read
    leaving = store.leaving(conn, name)
    if model.on_leave == "clear" and not settings.force_clear:
        _refuse_mass_clearing(conn, name, model, leaving, settings)
    push = _Push(conn, hubspot, name, model, run, settings, summary, source.read)
    push.start(source.rejects)
    considered = 0
    progress = Progress(f"model {name}", unit="rows considered")
    for candidates in store.candidates(conn, name, SLICE_ROWS):
        considered += len(candidates)
        push.handle(plan_changes(candidates, [], **push.plan_options))
        progress.update(considered, source.stored)
    push.handle(plan_changes([], leaving, **push.plan_options))
    # After a failure the temp table goes with the connection, or the next read_model replaces it.
    store.drop_rows(conn)
    push.finish(unchanged=source.stored - considered)


def _refuse_mass_clearing(
    conn: psycopg.Connection,
    name: str,
    model: ReverseEtlModel,
    leaving: list[tuple[str, PushState]],
    settings: Settings,
) -> None:
    mapped = set(model.properties.values())
    clearing = sum(1 for _, state in leaving if any(state.pushed.get(prop) for prop in mapped))
    if not clearing:
        return
    pushed = store.pushed_records(conn, name)
    if clearing > settings.max_clear_share * pushed:
        raise ClearRefused(
            f"model {name} ({model.sql_path}) would clear its properties on {clearing} of the {pushed} "
            f"records it has pushed, more than the allowed share {settings.max_clear_share:.0%} "
            "(thresholds.max_clear_share); nothing was sent. If the model's source tables are complete and "
            "this is intended, trigger the DAG with the param force_clear; otherwise check its sources"
        )


class _Push:
    """The sending side of one run, fed slice by slice so that memory stays bounded by SLICE_ROWS."""

    def __init__(
        self,
        conn: psycopg.Connection,
        hubspot: HubSpotHook,
        name: str,
        model: ReverseEtlModel,
        run: RunInfo,
        settings: Settings,
        summary: RunSummary,
        read: int,
    ) -> None:
        self.conn, self.hubspot, self.name, self.model = conn, hubspot, name, model
        self.run, self.settings, self.summary, self.read = run, settings, summary, read
        self.plan_options = {
            "properties": list(model.properties.values()),
            "mode": model.mode,
            "on_leave": model.on_leave,
            "max_attempts": model.max_attempts,
        }
        self.definitions = DefinitionSource(conn, hubspot, model.object_type, dry_run=settings.dry_run)
        self.sender = BatchSender(
            conn, hubspot, name, model, run, requests_in_flight=settings.requests_in_flight
        )
        self.counts = {"changed": 0, "failed": 0, "unchanged": 0, "held": 0, "left_model": 0, "rejected": 0}

    def start(self, rejects: list[Reject]) -> None:
        if self.settings.dry_run:
            store.clear_preview(self.conn, self.name)
        self._reject(rejects)

    def handle(self, plan: Plan) -> None:
        self.counts["unchanged"] += plan.unchanged
        self.counts["held"] += plan.held
        self.counts["left_model"] += plan.left
        if not plan.changes:
            return
        sendable, rejects = self._validate(plan.changes)
        sendable, archived = self._without_archived(sendable)
        self._reject(rejects + archived)
        self.counts["changed"] += len(sendable)
        if self.settings.dry_run:
            store.append_preview(self.conn, self.name, self.run, sendable, [])
        else:
            refusals = self.sender.send(sendable)
            self.counts["failed"] += sum(refusals.values())
            self.summary.details["batch_calls"] = self.sender.counts.calls
            self.summary.details["isolation_calls"] = self.sender.counts.isolation_calls
            if refusals["VALIDATION_ERROR"]:
                self.definitions.forget()

    def finish(self, unchanged: int) -> None:
        counts = {**self.counts, "unchanged": self.counts["unchanged"] + unchanged}
        self.summary.records_rejected = counts.pop("rejected")
        self.summary.details.update(counts)
        if self.settings.dry_run:
            log.info("Dry run of %s: %s", self.name, counts)
            return
        self.summary.records_written = counts["changed"] - counts["failed"]
        log.info("Model %s: %d read, %s", self.name, self.read, counts)
        _check_share(
            self.name,
            counts["failed"],
            self.read,
            self.settings,
            "refused by HubSpot",
            "hubspot_sync.push_state",
        )

    def _without_archived(
        self, sendable: list[tuple[Change, dict[str, str]]]
    ) -> tuple[list[tuple[Change, dict[str, str]]], list[Reject]]:
        """Keep upserts from re-creating records archived in HubSpot, unless the model allows it."""
        upserts = [change.key for change, _ in sendable if change.operation == "upsert"]
        if not upserts or self.model.recreate_archived:
            return sendable, []
        object_type, key_property = self.model.object_type, self.model.key.property
        archived = store.archived_only_keys(self.conn, object_type, key_property, upserts)
        if not archived:
            return sendable, []
        reason = (
            f"the record with this {key_property} is archived in HubSpot, and an upsert would create a new "
            "one beside it; restore it in HubSpot, or set recreate_archived: true on the model"
        )
        rejects = [Reject(object_type, key, key_property, reason) for key in sorted(archived)]
        return [item for item in sendable if item[0].key not in archived], rejects

    def _validate(self, changes: list[Change]) -> tuple[list[tuple[Change, dict[str, str]]], list[Reject]]:
        definitions = self.definitions.current()
        if definitions is None:
            self.summary.details["validated"] = "no property definitions cached yet: types not checked"
            return [(change, change.values) for change in changes], []
        problems, sendable, rejects = self._check(changes, definitions)
        if (problems or rejects) and self.definitions.can_refresh:
            # The cached copy may predate a new property or option: ask HubSpot before refusing.
            problems, sendable, rejects = self._check(changes, self.definitions.refresh())
        if problems:
            raise ModelError(f"model {self.name} ({self.model.sql_path}): {'; '.join(problems)}")
        return sendable, rejects

    def _check(
        self, changes: list[Change], definitions: Definitions
    ) -> tuple[list[str], list[tuple[Change, dict[str, str]]], list[Reject]]:
        problems = mapping_problems(self.model.properties, self.model.key.property, definitions)
        if problems:
            return problems, [], []
        return [], *_validate(changes, definitions, self.model.object_type)

    def _reject(self, rejects: list[Reject]) -> None:
        """Record rejects; fail before sending more once they pass the allowed share of rows read."""
        if not rejects:
            return
        self.counts["rejected"] += len(rejects)
        if self.settings.dry_run:
            store.append_preview(self.conn, self.name, self.run, [], rejects)
            return
        with self.conn.transaction():
            record_rejects(self.conn, self.run, rejects)
        _check_share(
            self.name, self.counts["rejected"], self.read, self.settings, "rejected", "hubspot_sync.rejects"
        )


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
