"""Association refresh: the mirrored association tables made equal to HubSpot's, removals included.

HubSpot does not reliably bump a record's last-modified time when an association is added or
removed, so association changes cannot be found through the changed records alone. A full sweep
reads every live source record in id order, 100 per v4 batch read, and replaces that batch's rows
in one transaction. It costs ceil(live records / 100) calls per association type, so on large
accounts it can be spaced out (`thresholds.association_sweep_minutes`); runs in between sweep only
the records the same DAG run changed. A record HubSpot reports as having no associations
(OBJECT_NOT_FOUND in the 207) loses its rows; one that failed for another reason keeps them and is
counted. Rows of archived and merged-away records are removed: they have no live associations.
"""

from __future__ import annotations

from typing import Any

import psycopg

from hubspot_sync.extract import store
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import AssociationType
from hubspot_sync.run_metrics import RunSummary

BATCH_SIZE = 100


def refresh_associations(
    hook: HubSpotHook,
    conn: psycopg.Connection,
    association: AssociationType,
    summary: RunSummary,
    *,
    changed_in_run: str | None = None,
) -> None:
    """Sweep every live source record, or with `changed_in_run` only those that run changed."""
    after_id = 0
    counts = {"sources": 0, "removed": 0, "written": 0, "failed_sources": 0, "full": changed_in_run is None}
    while True:
        with conn.transaction():
            from_ids = store.live_ids(conn, association.from_type, after_id, BATCH_SIZE, changed_in_run)
        if not from_ids:
            break
        after_id = from_ids[-1]
        response = hook.batch_read_associations(
            association.from_type, association.to_type, list(map(str, from_ids))
        )
        pairs, failed = _pairs(response.body, association)
        replaced = [from_id for from_id in from_ids if from_id not in failed]
        with conn.transaction():
            removed, written = store.replace_associations(
                conn, association.table, association.from_column, association.to_column, replaced, pairs
            )
        counts["sources"] += len(from_ids)
        counts["removed"] += removed
        counts["written"] += written
        counts["failed_sources"] += len(failed)
        summary.records_read += len(from_ids)
        summary.records_written += removed + written
    with conn.transaction():
        pruned = store.prune_archived_associations(
            conn, association.table, association.from_type, association.from_column
        )
    counts["removed"] += pruned
    summary.records_written += pruned
    summary.details[association.table] = counts


def _pairs(body: dict[str, Any], association: AssociationType) -> tuple[list[tuple], set[int]]:
    """(from, to, type id, category, label) rows, and the source ids that failed for a real reason."""
    pairs = []
    for result in body.get("results") or []:
        from_id = int(result["from"]["id"])
        for target in result.get("to") or []:
            for kind in target.get("associationTypes") or []:
                pairs.append(
                    (
                        from_id,
                        int(target["toObjectId"]),
                        int(kind["typeId"]),
                        kind.get("category") or "",
                        kind.get("label"),
                    )
                )
    failed: set[int] = set()
    for error in body.get("errors") or []:
        if error.get("category") == "OBJECT_NOT_FOUND":
            continue  # "no <type> is associated with <record>": the record has none
        context = error.get("context") or {}
        for raw in context.get("fromObjectId") or context.get("ids") or []:
            failed.add(int(raw))
    return pairs, failed
