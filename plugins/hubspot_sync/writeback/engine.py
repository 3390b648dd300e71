"""Write-back of one object type: push pending PostgreSQL edits to HubSpot, settle conflicts by rule.

The run, in order: creates (records inserted in PostgreSQL), field updates, archives. For updates, the
records concerned are read from HubSpot with the property history of the fields edited (50 a call, the
most HubSpot takes with history), each edit is decided by `rules.decide`, the losers of conflicts are
overwritten, and what must be sent goes out in batch updates of 100, isolating refused rows. What is
about to be sent is committed before each call, so a value whose answer was lost is recognised as ours
when it is read back; every outcome is committed right after its call.

Creates are idempotent: each carries a unique key (a UUID from the outbox) both as `objectWriteTraceId`
(per-input answers) and in the hidden unique property `hubspot_sync_key`, which this module creates when
missing. A create sent before is first looked up by that key, so a retry adopts the record an earlier
try made instead of making another.

Not responsible for: capturing edits (triggers.py), HubSpot -> PostgreSQL (the extraction).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

import psycopg

from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotRequestError
from hubspot_sync.objects import OBJECT_TYPES
from hubspot_sync.reverse_etl.responses import describe_error
from hubspot_sync.reverse_etl.send import BATCH_SIZE
from hubspot_sync.run_metrics import RunInfo
from hubspot_sync.values import InvalidValue, parse_datetime
from hubspot_sync.writeback import store
from hubspot_sync.writeback.rules import (
    Decision,
    PendingEdit,
    clock_offset,
    decide,
    hubspot_field,
    to_json,
    to_wire,
)
from hubspot_sync.writeback.send import IsolatingUpdater
from hubspot_sync.writeback.store import Conflict, Outcome

HISTORY_BATCH = 50  # HubSpot's most inputs for a batch read with property history
KEY_PROPERTY = "hubspot_sync_key"
MERGED_IDS = "hs_merged_object_ids"
NOT_FOUND = (
    "OBJECT_NOT_FOUND",
    "no such record in HubSpot (archived, deleted, or merged into one not found)",
)


@dataclass(frozen=True)
class WritebackRequest:
    object_type: str
    rules: dict[str, str]  # two-way column -> conflict rule
    column_types: dict[str, str]  # every typed column of the object -> configured property type


class ObjectWriteback:
    """Runs one write-back of one object type; returns counts."""

    def __init__(self, hook: HubSpotHook, conn: psycopg.Connection, request: WritebackRequest, run: RunInfo):
        self.hook, self.conn, self.request, self.run_info = hook, conn, request, run
        self.object_type = request.object_type
        self.counts: Counter[str] = Counter()

    def run(self) -> dict[str, int]:
        self._creates()
        self._updates()
        self._archives()
        return dict(self.counts)

    # -- updates -------------------------------------------------------------------------------

    def _updates(self) -> None:
        by_record: dict[int, list[PendingEdit]] = defaultdict(list)
        for edit in store.pending_updates(self.conn, self.object_type):
            if edit.field in self.request.rules:
                by_record[edit.record_id].append(edit)
            else:  # a column taken out of two_way while its edit waited: not sent, and said so
                self._settle(
                    [_outcome(edit, "superseded", ("NOT_TWO_WAY", "the column is no longer two-way"))]
                )
        ids = list(by_record)
        for start in range(0, len(ids), BATCH_SIZE):
            self._update_chunk(
                {record_id: by_record[record_id] for record_id in ids[start : start + BATCH_SIZE]}
            )

    def _update_chunk(self, edits: dict[int, list[PendingEdit]]) -> None:
        fields = sorted({edit.field for record_edits in edits.values() for edit in record_edits})
        current, offset = self._read_current(list(edits), fields)
        outcomes: list[Outcome] = []
        conflicts: list[Conflict] = []
        hubspot_values: dict[str, dict[int, Any]] = defaultdict(dict)
        to_send: dict[str, dict[str, str]] = defaultdict(dict)
        sending: list[tuple[PendingEdit, str]] = []  # (edit, target id)
        for record_id, record_edits in edits.items():
            record = current.get(record_id)
            for edit in record_edits:
                if record is None:
                    outcomes.append(_outcome(edit, "failed", NOT_FOUND))
                    continue
                property_type = self.request.column_types[edit.field]
                rule = self.request.rules[edit.field]
                hubspot = hubspot_field(record, edit.field, offset)
                try:
                    decision = decide(rule, property_type, edit, hubspot)
                    wire = to_wire(property_type, edit.value)
                except (InvalidValue, ValueError, ArithmeticError) as error:
                    outcomes.append(_outcome(edit, "failed", ("INVALID_VALUE", _reason(edit.field, error))))
                    continue
                self.counts[decision.value] += 1
                if decision in (Decision.POSTGRES_WINS, Decision.HUBSPOT_WINS):
                    winner = "postgres" if decision is Decision.POSTGRES_WINS else "hubspot"
                    conflicts.append(
                        Conflict(edit, hubspot.value, hubspot.changed_at, hubspot.source_type, winner, rule)
                    )
                if decision is Decision.ALREADY_THERE:
                    outcomes.append(_outcome(edit, "synced"))
                elif decision is Decision.HUBSPOT_WINS:
                    hubspot_values[edit.field][record_id] = to_json(property_type, hubspot.value)
                    outcomes.append(_outcome(edit, "reverted"))
                else:
                    target = str(record["id"])
                    if edit.field in to_send[target]:  # two merged-away ids, one survivor: the later edit
                        earlier = next(s for s in sending if s[1] == target and s[0].field == edit.field)
                        if earlier[0].changed_at > edit.changed_at:
                            outcomes.append(_outcome(edit, "superseded"))
                            continue
                        sending.remove(earlier)
                        outcomes.append(_outcome(earlier[0], "superseded"))
                    to_send[target][edit.field] = wire
                    sending.append((edit, target))
        with self.conn.transaction():
            store.as_writeback(self.conn)
            store.record_conflicts(self.conn, self.object_type, self.run_info.run_id, conflicts)
            for column, values in hubspot_values.items():
                store.set_column(self.conn, self.object_type, column, values)
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
            store.mark_sent(
                self.conn, self.object_type, [(e.record_id, e.field, e.value) for e, _ in sending]
            )
        self.counts["conflicts"] += len(conflicts)
        self._count(outcomes)
        if not sending:
            return
        updater = IsolatingUpdater(partial(self.hook.batch_write, self.object_type, "update"))
        failed = updater.send(dict(to_send))
        self.counts["update_calls"] += updater.calls
        pushed: dict[str, dict[int, Any]] = defaultdict(dict)
        outcomes = []
        for edit, target in sending:
            problem = failed.get(target)
            if problem is None:
                outcomes.append(_outcome(edit, "synced"))
                pushed[edit.field][edit.record_id] = edit.value
            else:
                outcomes.append(
                    _outcome(edit, "failed", (problem.category, problem.reason), problem.correlation_id)
                )
        with self.conn.transaction():
            store.as_writeback(self.conn)
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
            # An extraction may have landed HubSpot's older value over the edit meanwhile: put it back.
            for column, values in pushed.items():
                store.set_column(self.conn, self.object_type, column, values)
        self._count(outcomes)

    def _read_current(self, ids: list[int], fields: list[str]) -> tuple[dict[int, dict], timedelta]:
        """HubSpot's records by the ids asked (a merged-away id answers with its survivor), and the
        offset of HubSpot's clock from the database's."""
        found: dict[int, dict] = {}
        offset = timedelta(0)
        for start in range(0, len(ids), HISTORY_BATCH):
            chunk = [str(record_id) for record_id in ids[start : start + HISTORY_BATCH]]
            response = self.hook.batch_read(
                self.object_type, chunk, [*fields, MERGED_IDS], properties_with_history=fields
            )
            self.counts["read_calls"] += 1
            if start == 0:
                database_now = self.conn.execute("SELECT clock_timestamp()").fetchone()[0]
                offset = clock_offset(_header_date(response.headers.get("date")), database_now)
            for record in response.body.get("results") or []:
                record_id = int(record["id"])
                found[record_id] = record
                merged = (record.get("properties") or {}).get(MERGED_IDS) or ""
                for merged_id in merged.split(";"):
                    if merged_id.strip().isdigit():
                        found.setdefault(int(merged_id), record)
        return {record_id: found[record_id] for record_id in ids if record_id in found}, offset

    # -- creates -------------------------------------------------------------------------------

    def _creates(self) -> None:
        entries = store.pending_records(self.conn, self.object_type, "create")
        if not entries:
            return
        definitions = {prop["name"]: prop for prop in self.hook.get_properties(self.object_type)}
        if KEY_PROPERTY not in definitions:
            self.hook.create_property(self.object_type, _key_property(self.object_type))
        rows = store.new_rows(self.conn, self.object_type, [entry.record_id for entry in entries])
        outcomes: list[Outcome] = []
        live = []
        for entry in entries:
            row = rows.get(entry.record_id)
            if row is None or row.get("archived"):  # deleted or archived before HubSpot had it
                outcomes.append(Outcome(entry.record_id, "", entry.changed_at, "superseded"))
            else:
                live.append(entry)
        adopted = self._find_created([entry for entry in live if entry.sent_at is not None])
        inputs, waiting = [], []
        for entry in live:
            if entry.create_key in adopted:
                continue
            try:
                properties = self._create_properties(rows[entry.record_id], definitions)
            except (InvalidValue, ValueError, ArithmeticError) as error:
                outcomes.append(_record_outcome(entry, "failed", ("INVALID_VALUE", str(error))))
                continue
            inputs.append(
                {
                    "objectWriteTraceId": entry.create_key,
                    "properties": {**properties, KEY_PROPERTY: entry.create_key},
                }
            )
            waiting.append(entry)
        with self.conn.transaction():
            store.as_writeback(self.conn)
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
            store.mark_sent(self.conn, self.object_type, [(entry.record_id, "", None) for entry in waiting])
            for entry in live:
                if entry.create_key in adopted:
                    self._adopt(entry, adopted[entry.create_key])
        self.counts["created"] += len([entry for entry in live if entry.create_key in adopted])
        self._count(outcomes)
        for start in range(0, len(inputs), BATCH_SIZE):
            self._create_batch(inputs[start : start + BATCH_SIZE], waiting[start : start + BATCH_SIZE])

    def _create_batch(self, inputs: list[dict], entries: list[store.RecordEntry]) -> None:
        by_key = {entry.create_key: entry for entry in entries}
        outcomes: list[Outcome] = []
        created: dict[str, dict] = {}
        self.counts["create_calls"] += 1
        try:
            response = self.hook.batch_create(self.object_type, inputs)
        except HubSpotRequestError as refused:
            problem = (str(refused.body.get("category") or "BATCH_REFUSED"), describe_error(refused.body))
            outcomes = [
                _record_outcome(entry, "failed", problem, refused.correlation_id) for entry in entries
            ]
        else:
            for record in response.body.get("results") or []:
                created[str(record.get("objectWriteTraceId"))] = record
            conflicted: dict[str, tuple[str, str]] = {}
            for error in response.body.get("errors") or []:
                context = error.get("context") or {}
                problem = (str(error.get("category") or "ERROR"), describe_error(error))
                for key in context.get("objectWriteTraceId") or []:
                    if key in by_key and problem[0] == "CONFLICT":
                        conflicted[key] = problem
                    elif key in by_key:
                        outcomes.append(_record_outcome(by_key[key], "failed", problem))
            # A unique value already taken: by this very create, when a retry of the call (the hook's,
            # after a lost answer) met the record its first try made. Otherwise a real duplicate.
            created.update(self._find_created([by_key[key] for key in conflicted]))
            outcomes += [
                _record_outcome(by_key[key], "failed", problem)
                for key, problem in conflicted.items()
                if key not in created
            ]
        with self.conn.transaction():
            store.as_writeback(self.conn)
            for key, record in created.items():
                if key in by_key:
                    self._adopt(by_key[key], record)
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
        self.counts["created"] += len(created)
        self._count(outcomes)

    def _find_created(self, entries: list[store.RecordEntry]) -> dict[str, dict]:
        """Records an earlier try created (its answer lost), by create key."""
        found: dict[str, dict] = {}
        keys = [entry.create_key for entry in entries if entry.create_key]
        for start in range(0, len(keys), BATCH_SIZE):
            response = self.hook.batch_read_by_property(
                self.object_type, KEY_PROPERTY, keys[start : start + BATCH_SIZE], [KEY_PROPERTY]
            )
            self.counts["read_calls"] += 1
            for record in response.body.get("results") or []:
                key = (record.get("properties") or {}).get(KEY_PROPERTY)
                if key:
                    found[key] = record
        return found

    def _adopt(self, entry: store.RecordEntry, record: dict) -> None:
        store.adopt_id(
            self.conn,
            self.object_type,
            self.run_info.run_id,
            entry.record_id,
            int(record["id"]),
            _moment(record.get("createdAt")),
            _moment(record.get("updatedAt")),
        )

    def _create_properties(self, row: dict[str, Any], definitions: dict[str, dict]) -> dict[str, str]:
        """The row's configured values that HubSpot lets a create write."""
        last_modified = OBJECT_TYPES[self.object_type].last_modified_property
        properties = {}
        for column, property_type in self.request.column_types.items():
            definition = definitions.get(column)
            if row.get(column) is None or definition is None or column == last_modified:
                continue
            metadata = definition.get("modificationMetadata") or {}
            if definition.get("calculated") or metadata.get("readOnlyValue"):
                continue
            properties[column] = to_wire(property_type, row[column])
        return properties

    # -- archives ------------------------------------------------------------------------------

    def _archives(self) -> None:
        entries = store.pending_records(self.conn, self.object_type, "archive")
        for start in range(0, len(entries), BATCH_SIZE):
            chunk = entries[start : start + BATCH_SIZE]
            self.counts["archive_calls"] += 1
            try:
                self.hook.batch_archive(self.object_type, [str(entry.record_id) for entry in chunk])
            except HubSpotRequestError as refused:
                problem = (str(refused.body.get("category") or "BATCH_REFUSED"), describe_error(refused.body))
                outcomes = [
                    _record_outcome(entry, "failed", problem, refused.correlation_id) for entry in chunk
                ]
            else:
                outcomes = [_record_outcome(entry, "synced") for entry in chunk]
                self.counts["archived"] += len(chunk)
            with self.conn.transaction():
                store.as_writeback(self.conn)
                store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
                store.mark_archived(
                    self.conn, self.object_type, [o.record_id for o in outcomes if o.status == "synced"]
                )
            self._count(outcomes)

    # -- bookkeeping ---------------------------------------------------------------------------

    def _settle(self, outcomes: list[Outcome]) -> None:
        with self.conn.transaction():
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
        self._count(outcomes)

    def _count(self, outcomes: list[Outcome]) -> None:
        self.counts.update(f"entries_{outcome.status}" for outcome in outcomes)


def _outcome(
    edit: PendingEdit, status: str, problem: tuple[str, str] | None = None, correlation_id: str | None = None
) -> Outcome:
    category, reason = problem or (None, None)
    return Outcome(edit.record_id, edit.field, edit.changed_at, status, category, reason, correlation_id)


def _record_outcome(
    entry: store.RecordEntry,
    status: str,
    problem: tuple[str, str] | None = None,
    correlation_id: str | None = None,
) -> Outcome:
    category, reason = problem or (None, None)
    return Outcome(entry.record_id, "", entry.changed_at, status, category, reason, correlation_id)


def _reason(field: str, error: Exception) -> str:
    return f"{field}: the value cannot be sent to HubSpot ({error})"


def _header_date(value: str | None) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _moment(value: Any) -> datetime | None:
    try:
        return parse_datetime(str(value)) if value else None
    except InvalidValue:
        return None


def _key_property(object_type: str) -> dict[str, Any]:
    singular = {"companies": "company", "line_items": "line_item"}.get(object_type, object_type.rstrip("s"))
    return {
        "name": KEY_PROPERTY,
        "label": "HubSpot sync key",
        "type": "string",
        "fieldType": "text",
        "groupName": f"{singular.replace('_', '')}information",
        "hasUniqueValue": True,
        "hidden": True,
        "description": "Set on records created from PostgreSQL, so a retried create finds them instead of "
        "creating them again.",
    }
