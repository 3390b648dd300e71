"""Values reverse ETL pushed that HubSpot has since overwritten, who overwrote them, and the repair.

`hubspot_sync.push_state.pushed` holds, per model and record, the last value HubSpot accepted for
each property. The listing of one object type also asks for every property a model of that type
pushes; HubSpot's current text is staged beside the listing and compared with push state in SQL.
For the records that differ only, a batch read with `propertiesWithHistory` (50 ids a call, HubSpot's
limit with history) names the latest writer: source type, source id and user id, never the value.

Repair follows the owning model's `on_overwrite`: `repush` forgets the pushed value so that the
model's next run sends it again; `accept` takes HubSpot's value as pushed, so it is not re-sent.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from hubspot_sync.extract.store import table_id
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.reconcile import store
from hubspot_sync.reconcile.kinds import Kind
from hubspot_sync.records import Row
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.run_metrics import RunInfo
from hubspot_sync.sql import load_sql

HISTORY_READ_IDS = 50  # HubSpot's most inputs in a batch read asking for property history
_HISTORY_FIELDS = ("sourceType", "sourceId", "updatedByUserId", "timestamp")


class PushedValues:
    """Pushed-value comparison and repair for the models of one object type."""

    def __init__(
        self,
        hook: HubSpotHook,
        conn: psycopg.Connection,
        object_type: str,
        run: RunInfo,
        models: dict[str, ReverseEtlModel],
    ) -> None:
        self.hook = hook
        self.conn = conn
        self.object_type = object_type
        self.run_info = run
        self.models = {name: model for name, model in models.items() if model.object_type == object_type}
        self.properties = sorted(
            {prop for model in self.models.values() for prop in model.properties.values()}
        )
        if self.properties:
            with conn.transaction():
                conn.execute(load_sql("reconcile/pushed_stage"))

    def stage(self, rows: list[Row]) -> None:
        """Keep HubSpot's current text of the pushed properties of one page of live records."""
        if not self.properties:
            return
        with (
            self.conn.transaction(),
            self.conn.cursor() as cursor,
            cursor.copy(load_sql("reconcile/pushed_copy")) as copy,
        ):
            for row in rows:
                if not row.archived:
                    for prop in self.properties:
                        copy.write_row((row.id, prop, row.properties.get(prop)))

    def compare(self) -> None:
        """One finding per record and model, naming the overwritten properties and their last writer."""
        findings: dict[tuple[int, str], list[str]] = {}
        with self.conn.transaction():
            for name, model in self.models.items():
                statement = sql.SQL(load_sql("reconcile/pushed_compare")).format(
                    table=table_id(self.object_type)
                )
                params = {
                    "model": name,
                    "key_property": model.key.property,
                    "properties": list(model.properties.values()),
                }
                for record_id, prop in self.conn.execute(statement, params):
                    findings.setdefault((record_id, name), []).append(prop)
        # Differences are few (each is a human or another system overriding the warehouse): held here.
        writers = self._last_writers(sorted({record_id for record_id, _ in findings}))
        rows = []
        for (record_id, name), props in sorted(findings.items()):
            detail: dict[str, Any] = {
                "model": name,
                "on_overwrite": self.models[name].on_overwrite,
                "written_by": {prop: writers.get((record_id, prop)) for prop in sorted(props)},
            }
            rows.append((record_id, Kind.PUSHED_OVERWRITTEN, sorted(props), detail, False, None))
        with self.conn.transaction():
            store.add_findings(self.conn, self.run_info.run_id, self.object_type, rows)

    def _last_writers(self, record_ids: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
        writers: dict[tuple[int, str], dict[str, Any]] = {}
        for start in range(0, len(record_ids), HISTORY_READ_IDS):
            chunk = [str(record_id) for record_id in record_ids[start : start + HISTORY_READ_IDS]]
            response = self.hook.batch_read(
                self.object_type, chunk, ["hs_object_id"], properties_with_history=self.properties
            )
            for record in response.body.get("results") or []:
                for prop, entries in (record.get("propertiesWithHistory") or {}).items():
                    if entries:  # newest first
                        latest = {key: entries[0][key] for key in _HISTORY_FIELDS if key in entries[0]}
                        writers[(int(record["id"]), prop)] = latest
        return writers

    def repair(self) -> None:
        with self.conn.transaction():
            for name, model in self.models.items():
                accept = model.on_overwrite == "accept"
                self.conn.execute(load_sql("reconcile/pushed_repair"), {"model": name, "accept": accept})
                note = (
                    "HubSpot's value accepted as pushed"
                    if accept
                    else "forgotten in push state: the model's next run sends it again"
                )
                self.conn.execute(
                    load_sql("reconcile/mark_pushed_findings"),
                    {
                        "run_id": self.run_info.run_id,
                        "object_type": self.object_type,
                        "model": name,
                        "note": note,
                    },
                )
