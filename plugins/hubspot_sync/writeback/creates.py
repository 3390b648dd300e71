"""Records inserted in PostgreSQL (negative ids) created in HubSpot, exactly once.

Each create carries a unique key (a UUID from the outbox) both as `objectWriteTraceId` (per-input
answers, so one refused row fails alone) and in the hidden unique property `hubspot_sync_key`, created
here when missing. A create sent before is first looked up by that key, and so is one whose retried call
meets the key already taken: the record an earlier try made is adopted instead of made again. The id
HubSpot gives is written onto the PostgreSQL row.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import psycopg

from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotRequestError
from hubspot_sync.objects import OBJECT_TYPES
from hubspot_sync.reverse_etl.responses import describe_error
from hubspot_sync.reverse_etl.send import BATCH_SIZE
from hubspot_sync.run_metrics import RunInfo
from hubspot_sync.values import InvalidValue, parse_datetime
from hubspot_sync.writeback import store
from hubspot_sync.writeback.rules import to_wire
from hubspot_sync.writeback.store import Outcome

KEY_PROPERTY = "hubspot_sync_key"


class RecordCreator:
    """Creates one object type's pending new records; counts go into the caller's `counts`."""

    def __init__(
        self, hook: HubSpotHook, conn: psycopg.Connection, request: Any, run: RunInfo, counts: Counter
    ):
        self.hook, self.conn, self.request, self.run_info, self.counts = hook, conn, request, run, counts
        self.object_type = request.object_type

    def run(self) -> None:
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
                outcomes.append(record_outcome(entry, "failed", ("INVALID_VALUE", str(error))))
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
            outcomes = [record_outcome(entry, "failed", problem, refused.correlation_id) for entry in entries]
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
                        outcomes.append(record_outcome(by_key[key], "failed", problem))
            # A unique value already taken: by this very create, when a retry of the call (the hook's,
            # after a lost answer) met the record its first try made. Otherwise a real duplicate.
            created.update(self._find_created([by_key[key] for key in conflicted]))
            outcomes += [
                record_outcome(by_key[key], "failed", problem)
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

    def _count(self, outcomes: list[Outcome]) -> None:
        self.counts.update(f"entries_{outcome.status}" for outcome in outcomes)


def record_outcome(
    entry: store.RecordEntry,
    status: str,
    problem: tuple[str, str] | None = None,
    correlation_id: str | None = None,
) -> Outcome:
    category, reason = problem or (None, None)
    return Outcome(entry.record_id, "", entry.changed_at, status, category, reason, correlation_id)


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
