"""Association refresh: the mirrored association tables made equal to HubSpot's, removals included.

HubSpot does not reliably bump a record's last-modified time when an association is added or
removed, so association changes cannot be found through the changed records alone. A full sweep
reads every live source record in id order, 100 per v4 batch read, and replaces that batch's rows
in one transaction. It costs ceil(live records / 100) calls per association type, so on large
accounts it can be spaced out (`thresholds.association_sweep_minutes`); runs in between sweep only
the records the same DAG run changed, and those associated with a record it archived or merged away
(HubSpot moves a merged record's associations to the record the merge made).

HubSpot pages each record's associations on its own (500 a page): a record with more comes back with
`paging.next.after`, and its next pages are read by batch read again with that cursor beside its id,
before anything of the batch is written (one more call per 100 such records and page). A record
HubSpot reports as having no associations (`crm.associations.NO_ASSOCIATIONS_FOUND` in the 207)
loses its rows; one that failed for another reason, on any of its pages, keeps them and is counted.
Rows of archived and merged-away records are removed: they have no live associations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from hubspot_sync.extract import store
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import AssociationType
from hubspot_sync.run_metrics import RunSummary

BATCH_SIZE = 100
NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"


@dataclass
class AssociationRead:
    """What HubSpot returned for one batch of source records, across all their pages."""

    pairs: list[tuple] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)
    paged_sources: int = 0


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
    counts = {
        "sources": 0,
        "removed": 0,
        "written": 0,
        "failed_sources": 0,
        "paged_sources": 0,
        "full": changed_in_run is None,
    }
    while True:
        with conn.transaction():
            from_ids = store.live_ids(conn, association, after_id, BATCH_SIZE, changed_in_run)
        if not from_ids:
            break
        after_id = from_ids[-1]
        read = read_all_pages(hook, association, from_ids)
        replaced = [from_id for from_id in from_ids if from_id not in read.failed]
        with conn.transaction():
            removed, written = store.replace_associations(
                conn, association.table, association.from_column, association.to_column, replaced, read.pairs
            )
        counts["sources"] += len(from_ids)
        counts["removed"] += removed
        counts["written"] += written
        counts["failed_sources"] += len(read.failed)
        counts["paged_sources"] += read.paged_sources
        summary.records_read += len(from_ids)
        summary.records_written += removed + written
    with conn.transaction():
        pruned = store.prune_archived_associations(
            conn, association.table, association.from_type, association.from_column
        )
    counts["removed"] += pruned
    summary.records_written += pruned
    summary.details[association.table] = counts


def read_all_pages(hook: HubSpotHook, association: AssociationType, from_ids: list[int]) -> AssociationRead:
    """Every association of `from_ids`: the first page of all, then the next pages of those that have more."""
    read = AssociationRead()
    pending: dict[str, str | None] = {str(from_id): None for from_id in from_ids}
    while pending:
        ids = list(pending)
        cursors = {record_id: cursor for record_id, cursor in pending.items() if cursor is not None}
        pending = {}
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start : start + BATCH_SIZE]
            response = hook.batch_read_associations(
                association.from_type, association.to_type, chunk, after=cursors
            )
            more = collect_answer(response.body, chunk, read)
            read.paged_sources += len(set(more) - set(cursors))
            pending.update(more)
    return read


def collect_answer(body: dict[str, Any], asked: list[str], read: AssociationRead) -> dict[str, str]:
    """Add one response's rows and failures to `read`; returns the ids with a next page, with its cursor."""
    more: dict[str, str] = {}
    answered = set()
    for result in body.get("results") or []:
        raw_id = str(result["from"]["id"])
        answered.add(raw_id)
        for target in result.get("to") or []:
            for kind in target.get("associationTypes") or []:
                read.pairs.append(
                    (
                        int(raw_id),
                        int(target["toObjectId"]),
                        int(kind["typeId"]),
                        kind.get("category") or "",
                        kind.get("label"),
                    )
                )
        cursor = ((result.get("paging") or {}).get("next") or {}).get("after")
        if cursor:
            more[raw_id] = cursor
    for error in body.get("errors") or []:
        if _is_no_associations(error):
            continue  # the record has none (or, on a later page, no more)
        context = error.get("context") or {}
        ids = context.get("fromObjectId") or context.get("ids")
        # An error that names no record may concern any input not answered: none of them is replaced.
        for raw in ids if ids else [i for i in asked if i not in answered]:
            read.failed.add(int(raw))
            more.pop(str(raw), None)
    return more


def _is_no_associations(error: dict[str, Any]) -> bool:
    sub_category = error.get("subCategory")
    if sub_category is not None:
        return sub_category == NO_ASSOCIATIONS
    return error.get("category") == "OBJECT_NOT_FOUND"  # older answers carry the category alone
