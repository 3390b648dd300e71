"""Association refresh: the mirrored association tables made equal to HubSpot's, removals included.

Three reads keep them so, each costing what changed:
- A full load reads each record's associations inline with it (the list API's `associations=`), so
  it needs no call of its own; `read_inline` turns those into rows, landed with the records.
- An incremental run reads, by v4 batch read, the associations of the records it changed, and of
  those associated with a record it archived or merged away (HubSpot drops or moves those).
- HubSpot does not reliably bump a record's last-modified time when an association is added or
  removed, so the rolling sweep (sweep.py) reads a slice of the live source records every run, in
  id order, so that each is read once per `thresholds.association_sweep_hours`.

A v4 batch read takes up to 1,000 source records (BATCH_SIZE), and each batch of that many lands in
one transaction. HubSpot pages each record's associations on its own: inline 100 per type with
`paging.next`, in v4 batch reads 500 a page with `paging.next.after`. A record with more than its
inline page, or with an inline type name this module does not know (a user-defined label), is read
again by v4 batch read (one call per 1,000 such records, rather than one per record through the
page's `link`); next pages of a v4 read are read by batch read again with the cursor beside the id,
before anything of the batch is written. A record HubSpot reports as having no associations
(`crm.associations.NO_ASSOCIATIONS_FOUND` in the 207) loses its rows; one that failed for another
reason, on any of its pages, keeps them and is counted. Rows of archived and merged-away records are
removed: they have no live associations.

The changed records' batches and the sweep's may be read `requests_in_flight` at a time (`_read_ahead`):
the batch reads run on worker threads that only talk to HubSpot, at most twice that many batches ahead
of the writes; every write (rows, the sweep's position) stays on the thread that owns the connection,
one transaction a batch in batch order, so the sweep's saved position never passes a batch that did not
land. One in flight reads and lands each batch before listing the next, with no thread.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg

from hubspot_sync.extract import store, sweep
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import AssociationType
from hubspot_sync.run_metrics import RunSummary

# Inputs per v4 (and v3) association batch read, 1,000 since 2025-02-10 (object batch reads stay at 100):
# https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api
BATCH_SIZE = 1000
NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"


@dataclass
class AssociationRead:
    """What HubSpot returned for one batch of source records, across all their pages."""

    pairs: list[tuple] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)
    paged_sources: int = 0


def extract_associations(
    hook: HubSpotHook,
    conn: psycopg.Connection,
    associations: list[AssociationType],
    summary: RunSummary,
    run_id: str,
    period_ms: int,
    *,
    now_ms: int | None = None,
    requests_in_flight: int = 1,
) -> None:
    """This run's association step: the changed records' associations, then the sweep's slice, their
    batch reads `requests_in_flight` at a time."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    whole = True
    for association in associations:
        counts = Counts()
        with conn.transaction():
            state = sweep.read_state(conn, association)
        counts.inline = state.inline_run_id == run_id
        if not counts.inline:  # a full load in this run read them inline
            _refresh_changed(hook, conn, association, run_id, counts, requests_in_flight)
        # A full load this run just read them all: what the sweep owes waits for the next run.
        _sweep(
            hook,
            conn,
            association,
            state,
            period_ms,
            now_ms,
            counts,
            read=not counts.inline,
            requests_in_flight=requests_in_flight,
        )
        with conn.transaction():
            pruned = store.prune_archived_associations(
                conn, association.table, association.from_type, association.from_column
            )
        counts.removed += pruned
        whole = whole and counts.swept_sources >= counts.live
        summary.records_read += counts.changed_sources + counts.swept_sources
        summary.records_written += counts.removed + counts.written
        summary.details[association.table] = vars(counts)
    summary.details["full_sweep"] = whole


@dataclass
class Counts:
    inline: bool = False
    changed_sources: int = 0
    swept_sources: int = 0
    live: int = 0
    removed: int = 0
    written: int = 0
    failed_sources: int = 0
    paged_sources: int = 0
    sweep_after_id: int = 0
    sweep_owed: float = 0.0
    sweep_passes: int = 0


@dataclass(frozen=True)
class _Batch:
    """Source records read in one go and landed in one transaction."""

    from_ids: list[int]
    position: sweep.SweepState | None = None  # the sweep's state once this batch is in, saved with it
    wrapped: bool = False  # the sweep's first batch of a new pass


def _refresh_changed(
    hook: HubSpotHook,
    conn: psycopg.Connection,
    association: AssociationType,
    run_id: str,
    counts: Counts,
    requests_in_flight: int,
) -> None:
    batches = _changed_batches(conn, association, run_id)
    with closing(_read_ahead(hook, association, batches, requests_in_flight)) as reads:
        for batch, read in reads:
            _replace(conn, association, batch.from_ids, read, counts)
            counts.changed_sources += len(batch.from_ids)


def _changed_batches(conn: psycopg.Connection, association: AssociationType, run_id: str) -> Iterator[_Batch]:
    # Landing a batch changes rows of its own ids only, so listing past them before it lands is safe.
    after_id = 0
    while True:
        with conn.transaction():
            from_ids = store.live_ids(conn, association, after_id, BATCH_SIZE, run_id)
        if not from_ids:
            return
        after_id = from_ids[-1]
        yield _Batch(from_ids)


def _sweep(
    hook: HubSpotHook,
    conn: psycopg.Connection,
    association: AssociationType,
    state: sweep.SweepState,
    period_ms: int,
    now_ms: int,
    counts: Counts,
    *,
    read: bool = True,
    requests_in_flight: int = 1,
) -> None:
    """Read what the sweep owes, 1,000 source records a call, each batch committed with its position."""
    with conn.transaction():
        live, _ = sweep.live_counts(conn, association, 0)
        sweep.accrue(state, live, now_ms, period_ms)
        _, ahead = sweep.live_counts(conn, association, state.after_id)
        if not read:
            sweep.save_state(conn, association, state, False)
    counts.live = live
    if not read:
        return
    slices = sweep.Slices(conn, association, state, live, ahead, BATCH_SIZE)
    batches = (_Batch(from_ids, position, wrapped) for from_ids, position, wrapped in slices)
    with closing(_read_ahead(hook, association, batches, requests_in_flight)) as reads:
        for batch, answer in reads:
            save = partial(sweep.save_state, conn, association, batch.position, batch.wrapped)
            _replace(conn, association, batch.from_ids, answer, counts, save)
            counts.swept_sources += len(batch.from_ids)
    with conn.transaction():  # where the slice ends, once every batch of it has landed
        sweep.save_state(conn, association, state, slices.wrapped_at_end)
    counts.sweep_after_id, counts.sweep_owed, counts.sweep_passes = (
        state.after_id,
        round(state.owed, 3),
        state.passes,
    )


def _read_ahead(
    hook: HubSpotHook, association: AssociationType, batches: Iterable[_Batch], requests_in_flight: int
) -> Iterator[tuple[_Batch, AssociationRead]]:
    """Each batch with what HubSpot returned for it, in batch order.

    With more than one in flight the reads run on worker threads, at most twice `requests_in_flight`
    batches ahead of the caller, who lands each one (on its own thread) before taking the next. A read
    that fails stops new reads; the batches before it are still yielded, then its error is raised.
    Close the iterator (`contextlib.closing`) so that reads not started are dropped when the caller
    stops early.
    """
    if requests_in_flight <= 1:
        for batch in batches:
            yield batch, read_all_pages(hook, association, batch.from_ids)
        return
    hook.share_between_threads()
    pool = ThreadPoolExecutor(requests_in_flight, thread_name_prefix="hubspot-associations")
    pending: deque[tuple[_Batch, Future[AssociationRead]]] = deque()
    try:
        for batch in batches:
            pending.append((batch, pool.submit(read_all_pages, hook, association, batch.from_ids)))
            while pending and (len(pending) >= 2 * requests_in_flight or pending[0][1].done()):
                head, future = pending.popleft()
                yield head, future.result()
            if any(future.done() and future.exception() is not None for _, future in pending):
                break
        while pending:
            head, future = pending.popleft()
            yield head, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _replace(
    conn: psycopg.Connection,
    association: AssociationType,
    from_ids: list[int],
    read: AssociationRead,
    counts: Counts,
    also: Callable[[], None] | None = None,
) -> None:
    replaced = [from_id for from_id in from_ids if from_id not in read.failed]
    with conn.transaction():
        removed, written = store.replace_associations(
            conn, association.table, association.from_column, association.to_column, replaced, read.pairs
        )
        if also is not None:
            also()
    counts.removed += removed
    counts.written += written
    counts.failed_sources += len(read.failed)
    counts.paged_sources += read.paged_sources


# -- inline (full loads) -------------------------------------------------------------------------

# The v3 `type` names of HubSpot-defined association types, as inline reads give them:
# https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide (type ids); a pair that
# also has a primary type names its plain type "_unlabeled". 100 a type per record, then paging:
# https://developers.hubspot.com/changelog/announcing-a-change-to-how-v3-crm-apis-return-association-data
V3_TYPES: dict[str, tuple[int, str | None]] = {
    "contact_to_company": (1, "Primary"),
    "contact_to_company_unlabeled": (279, None),
    "deal_to_contact": (3, None),
    "deal_to_company": (5, "Primary"),
    "deal_to_company_unlabeled": (341, None),
}


def read_inline(
    hook: HubSpotHook, association: AssociationType, records: list[dict[str, Any]]
) -> AssociationRead:
    """The associations of list records read with `associations=<to type>`; records whose inline page
    is not all of them (more pages, or a type name not in V3_TYPES) are read by v4 batch read."""
    read = AssociationRead()
    again: list[int] = []
    for record in records:
        if not str(record.get("id") or "").isdigit():
            continue  # refused whole when landed
        from_id = int(record["id"])
        page = (record.get("associations") or {}).get(association.to_type) or {}
        results = page.get("results") or []
        if (page.get("paging") or {}).get("next") or any(r.get("type") not in V3_TYPES for r in results):
            again.append(from_id)
            continue
        for result in results:
            type_id, label = V3_TYPES[result["type"]]
            read.pairs.append((from_id, int(result["id"]), type_id, "HUBSPOT_DEFINED", label))
    read.paged_sources = len(again)
    for start in range(0, len(again), BATCH_SIZE):
        more = read_all_pages(hook, association, again[start : start + BATCH_SIZE])
        read.pairs += more.pairs
        read.failed |= more.failed
    return read


def land_inline(
    conn: psycopg.Connection,
    association: AssociationType,
    read: AssociationRead,
    landed: set[int],
    run_id: str,
) -> tuple[int, int]:
    """Replace the associations of the records that landed (inside their transaction); returns
    (removed, written)."""
    from_ids = sorted(landed - read.failed)
    pairs = [pair for pair in read.pairs if pair[0] in landed]
    sweep.mark_inline(conn, association, run_id)
    return store.replace_associations(
        conn, association.table, association.from_column, association.to_column, from_ids, pairs
    )


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
