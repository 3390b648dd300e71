"""Reconciliation of one object type: list HubSpot's side, compare with the mirror, record, repair.

HubSpot's live and archived records are read through the list API, 100 a page, asking only for the
id, last-modified time, merged ids and the configured typed properties (plus the properties reverse
ETL pushes, see pushed.py). Each page is typed by the landing rules of extraction and staged in
PostgreSQL (COPY) as id, state, last-modified and per-column value hashes; one SQL comparison then
finds every disagreeing id. Python holds one page and one slice of disagreeing ids at a time, so
memory stays flat whatever the number of records.

Repairs go through the landing code of extraction (`land_records`): missing, stale, differing and
archived-state records are re-read by batch read (100 ids a call, all properties, as extraction
stores them). Rows of records HubSpot deleted for good are removed with their associations after a
batch read confirms that HubSpot no longer answers for them, leaving an audit row of ids only.

Not responsible for: associations (associations.py), Airflow concerns (the operator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from hubspot_sync.config import ObjectConfig
from hubspot_sync.extract.engine import BATCH_READ_IDS, land_records, row_rules
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import OBJECT_TYPES
from hubspot_sync.privacy.store import remove_deleted
from hubspot_sync.reconcile import store
from hubspot_sync.reconcile.kinds import NOT_REPAIRABLE, Action, Kind, classify, drift_share
from hubspot_sync.reconcile.pushed import PushedValues
from hubspot_sync.records import to_row
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.run_metrics import RunInfo, record_rejects

ROWS_PER_STAGE = 2000  # list pages staged per transaction
# Kinds repaired by reading the record again and landing it.
REREAD = (Kind.MISSING, Kind.STALE, Kind.VALUES_DIFFER, Kind.ARCHIVED_DIFFERS, Kind.MERGED_DIFFERS)


@dataclass(frozen=True)
class ReconcileRequest:
    object_type: str
    actions: dict[Kind, Action]
    compare_values: bool = True
    max_delete_share: float = 0.05


@dataclass
class ReconcileReport:
    """What one object type's reconciliation found and did; every count is committed."""

    object_type: str
    hubspot_records: int = 0
    warehouse_records: int = 0
    found: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0
    api_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def drift_share(self) -> float:
        return drift_share(self.found, self.hubspot_records)


class ObjectReconciler:
    """Reconciles one object type of one account with its mirror table."""

    def __init__(
        self,
        hook: HubSpotHook,
        conn: psycopg.Connection,
        object_config: ObjectConfig,
        run: RunInfo,
        models: dict[str, ReverseEtlModel] | None = None,
    ) -> None:
        self.hook = hook
        self.conn = conn
        self.object_config = object_config
        self.run_info = run
        self.models = models or {}

    def run(self, request: ReconcileRequest, report: ReconcileReport | None = None) -> ReconcileReport:
        """Compare and repair; counts go into `report` (a new one if not given) as they commit."""
        report = report if report is not None else ReconcileReport(request.object_type)
        calls_before = self.hook.stats.api_calls
        self._prepare(request)
        with self.conn.transaction():
            store.forget_findings(self.conn, self.run_info.run_id, request.object_type)
        listing_started_at = datetime.now(UTC)
        self._stage_hubspot(request, report)
        self._compare(request, report, listing_started_at)
        self.pushed.compare()
        self._repair(request, report)
        with self.conn.transaction():
            report.found, report.repaired = store.summarize(
                self.conn, self.run_info.run_id, request.object_type
            )
        report.api_calls = self.hook.stats.api_calls - calls_before
        return report

    # -- steps ---------------------------------------------------------------------------------

    def _prepare(self, request: ReconcileRequest) -> None:
        object_type = OBJECT_TYPES[request.object_type]
        self.rules = row_rules(object_type.name, self.object_config)
        self.typed_columns = list(self.object_config.properties)
        with self.conn.transaction():
            self.columns = store.comparable_columns(self.conn, object_type.name, self.rules.column_types)
            store.start_stage(self.conn)
        self.hashes = store.value_hashes(self.columns, self.rules.column_types)
        self.pushed = PushedValues(self.hook, self.conn, object_type.name, self.run_info, self.models)
        names = {
            "hs_object_id",
            object_type.last_modified_property,
            "hs_merged_object_ids",
            *self.pushed.properties,
        }
        if request.compare_values:
            names.update(self.columns)
        self.list_properties = sorted(names)

    def _stage_hubspot(self, request: ReconcileRequest, report: ReconcileReport) -> None:
        """Live records, then the archive (a record archived meanwhile is then still seen once)."""
        for archived in (False, True):
            batch: list[dict[str, Any]] = []
            for records, next_after in self.hook.iter_list_pages(
                request.object_type, self.list_properties, archived=archived
            ):
                batch.extend(records)
                if len(batch) >= ROWS_PER_STAGE or not next_after:
                    self._stage(batch, report)
                    batch = []
        if report.unreadable:
            report.notes.append(
                f"{report.unreadable} listed records could not be read: see hubspot_sync.rejects "
                f"WHERE run_id = '{self.run_info.run_id}' AND object_type = '{request.object_type}'"
            )

    def _stage(self, records: list[dict[str, Any]], report: ReconcileReport) -> None:
        """Stage a batch of listed records. One that cannot be placed at all (no usable id or
        last-modified time) is a reject with its reason; a refused value only leaves its column NULL
        here, as landing does (its reject is recorded if the record is landed)."""
        rows, unreadable = [], []
        for record in records:
            row, rejects = to_row(record, self.rules)
            if row is None:
                unreadable.extend(rejects)
                continue
            rows.append(row)
        store.stage_page(self.conn, self.rules.object_type, rows, self.columns, self.hashes)
        if unreadable:
            with self.conn.transaction():
                record_rejects(self.conn, self.run_info, unreadable)
            report.unreadable += len(unreadable)
        self.pushed.stage(rows)
        report.hubspot_records += len(rows)

    def _compare(
        self, request: ReconcileRequest, report: ReconcileReport, listing_started_at: datetime
    ) -> None:
        listed, mirrored = store.compare(
            self.conn,
            request.object_type,
            self.hashes,
            compare_values=request.compare_values,
            columns=self.columns,
            listing_started_at=listing_started_at,
        )
        report.hubspot_records, report.warehouse_records = listed, mirrored
        for facts in store.iter_facts(self.conn):
            findings = []
            for fact in facts:
                for kind in classify(fact):
                    detail = {"hubspot_archived": fact.hubspot_archived}
                    if fact.hubspot_merged_into is not None:
                        detail["survivor_id"] = fact.hubspot_merged_into
                    if fact.warehouse_merged_into is not None:
                        detail["warehouse_merged_into"] = fact.warehouse_merged_into
                    note = NOT_REPAIRABLE.get(kind)
                    if kind is Kind.MERGED_DIFFERS and fact.in_hubspot:
                        note = "HubSpot still holds this id; the landing code never revives an id merged away"
                    fields = fact.fields if kind is Kind.VALUES_DIFFER else []
                    findings.append((fact.record_id, kind, fields or [], detail, False, note))
            with self.conn.transaction():
                store.add_findings(self.conn, self.run_info.run_id, request.object_type, findings)

    def _repair(self, request: ReconcileRequest, report: ReconcileReport) -> None:
        wanted = [kind for kind in REREAD if request.actions[kind] == "repair"]
        if wanted:
            self._reread(request, wanted)
        if request.actions[Kind.EXTRA] == "repair":
            self._remove_deleted(request, report)
        if request.actions[Kind.PUSHED_OVERWRITTEN] == "repair":
            self.pushed.repair()

    # -- repairs -------------------------------------------------------------------------------

    @property
    def _all_properties(self) -> list[str]:
        if not hasattr(self, "_property_names"):
            definitions = self.hook.get_properties(self.rules.object_type)
            # What extraction asks for: the properties the object's minimisation settings keep.
            self._property_names = sorted(
                prop["name"]
                for prop in definitions
                if prop.get("name") and self.rules.policy.keeps(prop["name"])
            )
        return self._property_names

    def _reread(self, request: ReconcileRequest, kinds: list[Kind]) -> None:
        """Read each record again (its survivor, for a merge the mirror missed) and land it."""
        for findings in store.findings_to_repair(
            self.conn, self.run_info.run_id, request.object_type, [str(k) for k in kinds], BATCH_READ_IDS
        ):
            wanted: dict[bool, dict[str, list[int]]] = {False: {}, True: {}}
            for finding_id, record_id, _, detail in findings:
                read_id = detail.get("survivor_id") or record_id
                archived = bool(detail.get("hubspot_archived")) and "survivor_id" not in detail
                wanted[archived].setdefault(str(read_id), []).append(finding_id)
            for archived, by_id in wanted.items():
                if by_id:
                    self._land_by_id(by_id, archived)

    def _land_by_id(self, by_id: dict[str, list[int]], archived: bool) -> None:
        response = self.hook.batch_read(
            self.rules.object_type, list(by_id), self._all_properties, archived=archived
        )
        records = response.body.get("results") or []
        _, _, _, landed = land_records(self.conn, self.rules, self.typed_columns, self.run_info, records)
        answered = {str(record.get("id")) for record in records}
        with self.conn.transaction():
            for record_id, finding_ids in by_id.items():
                if int(record_id) in landed:
                    store.mark_findings(self.conn, finding_ids, repaired=True, note=None)
                elif record_id in answered:
                    note = "HubSpot's record could not be landed: see hubspot_sync.rejects for the reason"
                    store.mark_findings(self.conn, finding_ids, repaired=False, note=note)
                else:
                    note = "HubSpot did not return the record when it was read again"
                    store.mark_findings(self.conn, finding_ids, repaired=False, note=note)

    def _remove_deleted(self, request: ReconcileRequest, report: ReconcileReport) -> None:
        """Remove rows HubSpot deleted for good, once a batch read confirms it answers for none of them.

        An id that answers after all (restored or merged while the lists were read) is landed instead.
        """
        extra = sum(1 for _ in self._iter_ids(request, [Kind.EXTRA]))
        limit = request.max_delete_share * max(report.hubspot_records, 1)
        if extra > limit:
            note = (
                f"{extra} rows of {report.hubspot_records} would be removed, more than "
                f"reconcile.max_delete_share ({request.max_delete_share:.1%}): a wrong account or token? "
                "Reported only"
            )
            report.notes.append(note)
            for findings in store.findings_to_repair(
                self.conn, self.run_info.run_id, request.object_type, [str(Kind.EXTRA)], BATCH_READ_IDS
            ):
                with self.conn.transaction():
                    store.mark_findings(self.conn, [f[0] for f in findings], repaired=False, note=note)
            return
        for findings in store.findings_to_repair(
            self.conn, self.run_info.run_id, request.object_type, [str(Kind.EXTRA)], BATCH_READ_IDS
        ):
            ids = [str(record_id) for _, record_id, _, _ in findings]
            answered: list[dict[str, Any]] = []
            for archived in (False, True):
                response = self.hook.batch_read(
                    self.rules.object_type, ids, self._all_properties, archived=archived
                )
                answered.extend(response.body.get("results") or [])
            asked = set(ids)
            alive = {str(record.get("id")) for record in answered} & asked
            # A merged-away id answers with its survivor's id: it is not gone either.
            alive |= {
                merged
                for record in answered
                for merged in ((record.get("properties") or {}).get("hs_merged_object_ids") or "").split(";")
                if merged in asked
            }
            if answered:
                land_records(self.conn, self.rules, self.typed_columns, self.run_info, answered)
            gone = [int(record_id) for record_id in ids if record_id not in alive]
            with self.conn.transaction():
                # A person's record is erased: every copy of its values goes, a tombstone stays.
                models = [name for name, m in self.models.items() if m.object_type == request.object_type]
                remove_deleted(self.conn, request.object_type, gone, self.run_info.run_id, models)
                by_record = {record_id: finding_id for finding_id, record_id, _, _ in findings}
                store.mark_findings(self.conn, [by_record[i] for i in gone], repaired=True, note=None)
                store.mark_findings(
                    self.conn,
                    [by_record[int(i)] for i in ids if i in alive],
                    repaired=True,
                    note="not deleted after all: HubSpot answered when read again (restored or merged "
                    "meanwhile), and its record was landed",
                )

    def _iter_ids(self, request: ReconcileRequest, kinds: list[Kind]):
        for findings in store.findings_to_repair(
            self.conn, self.run_info.run_id, request.object_type, [str(k) for k in kinds], 5000
        ):
            for finding in findings:
                yield finding[1]
