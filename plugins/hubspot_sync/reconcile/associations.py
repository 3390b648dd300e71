"""Reconciliation of the mirrored association tables with HubSpot's associations.

HubSpot does not bump last-modified when an association changes, so the comparison reads them all:
the list API of each `from` type, 100 records a page, asking only for `hs_object_id` and, inline,
the associations to every mirrored `to` type (`associations=`), which HubSpot pages with the record.
One listing of deals thus covers deal->contact and deal->company at once: the cost is one call per
100 `from` records, not one per association type. A record with more associations than one inline
page holds is read again through the v4 batch read (all pages, 1,000 records a call), and only those.

Pairs of ids are compared in SQL; each missing or extra pair is a finding (so is a mirror row of a
record HubSpot does not list as live: archived, merged-away and deleted records have none). Repair
re-reads the live records concerned through the v4 batch read, 1,000 records a call and a
transaction, and replaces their rows with the same code extraction uses (`replace_associations`),
which also brings back type ids and labels; the rows of records that are not live are removed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from hubspot_sync.extract import store as extract_store
from hubspot_sync.extract.associations import BATCH_SIZE, AssociationRead, read_all_pages
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import AssociationType
from hubspot_sync.reconcile import store
from hubspot_sync.reconcile.engine import ReconcileReport
from hubspot_sync.reconcile.kinds import Action, Kind
from hubspot_sync.run_metrics import RunInfo
from hubspot_sync.sql import load_sql

PAGES_PER_STAGE = 20


class AssociationReconciler:
    """Reconciles the association tables read from one `from` object type."""

    def __init__(
        self, hook: HubSpotHook, conn: psycopg.Connection, run: RunInfo, associations: list[AssociationType]
    ) -> None:
        self.hook = hook
        self.conn = conn
        self.run_info = run
        self.associations = associations
        self.from_type = associations[0].from_type
        self.by_to_type = {association.to_type: association for association in associations}

    def run(self, actions: dict[Kind, Action], reports: dict[str, ReconcileReport]) -> None:
        """Compare and repair; each table's counts go into `reports[table]`."""
        for association in self.associations:
            reports.setdefault(association.table, ReconcileReport(association.table))
        calls_before = self.hook.stats.api_calls
        with self.conn.transaction():
            for association in self.associations:
                store.forget_findings(self.conn, self.run_info.run_id, association.table)
            self.conn.execute(load_sql("reconcile/associations_stage"))
        listing_started_at = datetime.now(UTC)
        partial = self._stage_listing(reports)
        self._read_partial(partial)
        self._compare(reports, listing_started_at)
        repairable = [k for k in (Kind.ASSOCIATION_MISSING, Kind.ASSOCIATION_EXTRA) if actions[k] == "repair"]
        if repairable:
            for association in self.associations:
                self._repair(association, repairable)
        calls = self.hook.stats.api_calls - calls_before
        for association in self.associations:
            report = reports[association.table]
            with self.conn.transaction():
                report.found, report.repaired = store.summarize(
                    self.conn, self.run_info.run_id, report.object_type
                )
            report.api_calls = calls  # one listing serves every table of this `from` type

    def _stage_listing(self, reports: dict[str, ReconcileReport]) -> dict[str, list[int]]:
        """Stage every listed pair and source; returns, per table, the sources whose inline page was cut."""
        partial: dict[str, list[int]] = {a.table: [] for a in self.associations}
        pairs: list[tuple[str, int, int]] = []
        sources: list[tuple[str, int]] = []
        listing = self.hook.iter_list_pages(
            self.from_type, ["hs_object_id"], associations=list(self.by_to_type)
        )
        for pages, (records, next_after) in enumerate(listing, start=1):
            for record in records:
                self._collect(record, pairs, sources, partial)
            if pages % PAGES_PER_STAGE == 0 or not next_after:
                self._copy(pairs, sources)
                pairs, sources = [], []
        return partial

    def _collect(
        self,
        record: dict[str, Any],
        pairs: list[tuple[str, int, int]],
        sources: list[tuple[str, int]],
        partial: dict[str, list[int]],
    ) -> None:
        from_id = int(record["id"])
        inline = record.get("associations") or {}
        for to_type, association in self.by_to_type.items():
            sources.append((association.table, from_id))
            page = inline.get(to_type) or {}
            if (page.get("paging") or {}).get("next"):
                partial[association.table].append(from_id)
                continue
            for target in page.get("results") or []:
                pairs.append((association.table, from_id, int(target["id"])))

    def _copy(self, pairs: list[tuple[str, int, int]], sources: list[tuple[str, int]]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cursor:
            with cursor.copy(load_sql("reconcile/associations_copy_pairs")) as copy:
                for pair in pairs:
                    copy.write_row(pair)
            with cursor.copy(load_sql("reconcile/associations_copy_sources")) as copy:
                for source in sources:
                    copy.write_row(source)

    def _read_partial(self, partial: dict[str, list[int]]) -> None:
        """Every page of the associations of records with more than one inline page holds (v4)."""
        for association in self.associations:
            ids = partial[association.table]
            for start in range(0, len(ids), BATCH_SIZE):
                chunk = ids[start : start + BATCH_SIZE]
                read = read_all_pages(self.hook, association, chunk)
                self._copy([(association.table, f, t) for f, t, *_ in read.pairs], [])
                if read.failed:
                    with self.conn.transaction():
                        self.conn.execute(
                            load_sql("reconcile/associations_forget_source"),
                            {"association": association.table, "ids": sorted(read.failed)},
                        )

    def _compare(self, reports: dict[str, ReconcileReport], listing_started_at: datetime) -> None:
        for association in self.associations:
            table = extract_store.table_id(association.table)
            statement = sql.SQL(load_sql("reconcile/associations_compare")).format(
                table=table,
                from_column=sql.Identifier(association.from_column),
                to_column=sql.Identifier(association.to_column),
            )
            with self.conn.transaction():
                self.conn.execute(
                    statement,
                    {
                        "run_id": self.run_info.run_id,
                        "association": association.table,
                        "listing_started_at": listing_started_at,
                    },
                )
                count = sql.SQL(load_sql("reconcile/associations_mirror_count")).format(table=table)
                reports[association.table].warehouse_records = self.conn.execute(count).fetchone()[0]
                reports[association.table].hubspot_records = self.conn.execute(
                    load_sql("reconcile/associations_hubspot_count"), {"association": association.table}
                ).fetchone()[0]

    def _repair(self, association: AssociationType, kinds: list[Kind]) -> None:
        """Replace the rows of every record with a finding by what the v4 read returns, as extraction does."""
        after_id = 0
        while True:
            rows = self.conn.execute(
                load_sql("reconcile/associations_to_repair"),
                {
                    "run_id": self.run_info.run_id,
                    "association": association.table,
                    "kinds": [str(kind) for kind in kinds],
                    "after_id": after_id,
                    "limit": BATCH_SIZE,  # records with findings: one v4 batch read's inputs
                },
            ).fetchall()
            if not rows:
                return
            after_id = rows[-1][0]
            live = [record_id for record_id, _, listed in rows if listed]
            read = read_all_pages(self.hook, association, live) if live else AssociationRead()
            replaced = [record_id for record_id, _, _ in rows if record_id not in read.failed]
            with self.conn.transaction():
                extract_store.replace_associations(
                    self.conn,
                    association.table,
                    association.from_column,
                    association.to_column,
                    replaced,
                    read.pairs,
                )
                for record_id, finding_ids, _ in rows:
                    if record_id in read.failed:
                        note = "HubSpot's associations of this record could not be read"
                        store.mark_findings(self.conn, finding_ids, repaired=False, note=note)
                    else:
                        store.mark_findings(self.conn, finding_ids, repaired=True, note=None)
