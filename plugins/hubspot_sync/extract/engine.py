"""Extraction of one object type: discover properties, read what changed, land it, move the cursor.

First run, `full_refresh`, or an interrupted full load: the list API (100 a page), resumable from
the saved paging cursor. Otherwise CRM search over [cursor - lookback, window end), read by
`ChangedRecords`. Each run also reads the archived records (search never returns them) and
marks records merged away. Rows are landed in transactions of `rows_per_transaction`, each
carrying its rejects and the cursor position it covers, so a crash loses at most that batch's
work and a rerun resumes from the last commit.

Not responsible for: associations (see associations.py), or Airflow concerns (the operator).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg

from hubspot_sync.config import ObjectConfig
from hubspot_sync.extract import full_load, store
from hubspot_sync.extract.associations import AssociationRead, land_inline, read_all_pages, read_inline
from hubspot_sync.extract.retype import retype_column
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import OBJECT_TYPES, AssociationType
from hubspot_sync.privacy.minimise import narrow, property_policy
from hubspot_sync.progress import Progress
from hubspot_sync.records import Row, RowRules, to_row
from hubspot_sync.run_metrics import Reject, RunInfo, RunSummary, record_rejects
from hubspot_sync.search_paging import ChangedRecords
from hubspot_sync.writeback import triggers as writeback_triggers

log = logging.getLogger(__name__)

# Property names that fit in one list URL; past this, the rest is fetched by batch read (POST).
URL_PROPERTY_CHARS = 5000
BATCH_READ_IDS = 100  # HubSpot's most inputs in one batch call
# HubSpot's types as the warehouse sees them, to tell a real type change from a compatible one.
_TYPE_FAMILY = {"string": "text", "enumeration": "text", "phone_number": "text", "multi_enumeration": "text"}


class RejectShareExceeded(RuntimeError):
    """Too large a share of the records read was rejected; the rows that passed are committed.

    So is the cursor: holding it back would make every later run re-read the same records and
    fail the same way (a value in HubSpot does not change by retrying), stalling the object type
    for good. The operator makes this failure final instead (no retry can read nothing and pass),
    so the run stays failed and alerted until someone looks at `hubspot_sync.rejects`.
    """


@dataclass(frozen=True)
class ExtractRequest:
    object_type: str
    window_end_ms: int
    full_refresh: bool = False
    since_ms: int | None = None
    lookback_ms: int = 10 * 60 * 1000
    rows_per_transaction: int = 2000
    max_reject_share: float = 0.05
    archive_sweep_ms: int = 0  # how long after a full read of the archive the next one is due
    # Associations read inline by a full load (from this object type to enabled ones).
    associations: tuple[AssociationType, ...] = ()
    readers: int = 1  # HubSpot calls in flight at once (config parallel.requests_in_flight)
    split_min_records: int = 10_000  # full loads of at least this many records are split by id


Reader = Callable[[Callable[[full_load.Batch], None]], None]


@dataclass
class _Work:
    """One part of a run: its readers (threads), and what this thread does with each batch (inside the
    batch's transaction, then once it committed) and when everything has landed."""

    readers: list[Reader]
    finish: Callable[[], None] = lambda: None
    in_transaction: Callable[[full_load.Batch], None] | None = None
    landed: Callable[[full_load.Batch], None] | None = None


def _tagged(reader: Reader, work: _Work, put: Callable[[Any], None]) -> None:
    """Run a reader, handing its batches over with the part of the run they belong to."""
    reader(lambda batch: put((work, batch)))


class ObjectExtractor:
    """Runs one extraction of one object type into the warehouse."""

    def __init__(
        self, hook: HubSpotHook, conn: psycopg.Connection, object_config: ObjectConfig, run: RunInfo
    ) -> None:
        self.hook = hook
        self.conn = conn
        self.object_config = object_config
        self.run_info = run

    def run(self, request: ExtractRequest, summary: RunSummary | None = None) -> RunSummary:
        """Extract; counts go into `summary` (a new one if not given) as each batch commits."""
        object_type = OBJECT_TYPES[request.object_type]
        summary = summary if summary is not None else RunSummary(request.object_type)
        stats = self.hook.stats
        calls_before, limited_before, retries_before = stats.api_calls, stats.rate_limited, stats.retries
        hubspot_properties = self.hook.get_properties(object_type.name)
        with self.conn.transaction():
            store.as_extraction(self.conn)
            drift = store.update_catalog(self.conn, object_type.name, hubspot_properties)
            drift["configuration"] = self._configuration_drift(hubspot_properties)
            configured = dict(self.object_config.properties)
            differing = store.ensure_columns(self.conn, object_type.name, configured)
            for column, existing in differing.items():
                retyped = retype_column(self.conn, object_type.name, column, existing, configured[column])
                record_rejects(self.conn, self.run_info, retyped.rejects)
                drift["configuration"].append(retyped.note(object_type.name))
            for column in object_type.indexed_properties:
                if column in self.object_config.properties:
                    store.ensure_index(self.conn, object_type.name, column)
            writeback_triggers.install(self.conn, object_type.name, list(self.object_config.two_way.fields))
        summary.details["drift"] = {key: value for key, value in drift.items() if value}
        self._rules = row_rules(object_type.name, self.object_config)
        self._typed_columns = list(self.object_config.properties)
        # Only what is kept is asked for: fewer bytes, and shorter URLs and search bodies.
        self._property_names = sorted(
            prop["name"]
            for prop in hubspot_properties
            if prop.get("name") and self._rules.policy.keeps(prop["name"])
        )
        narrowed = narrow(self.conn, object_type.name, self._rules.policy)
        if narrowed is not None:
            summary.details["minimised"] = narrowed

        self._progress = Progress(f"{object_type.name} extraction")
        self._expected_total: int | None = None  # what the first search said the window holds
        cursor = store.read_cursor(self.conn, object_type.name)
        # Every reader runs at once, in its own thread; this thread lands what they read (full_load.py).
        if request.full_refresh or cursor.cursor_ms is None or cursor.list_started_ms is not None:
            work = self._full_load(request, cursor, summary)
        else:
            work = self._incremental(request, cursor, summary)
        archive = self._archived(request, summary)
        self._read_and_land([work, archive], summary, at_once=request.readers > 1)
        work.finish()
        archive.finish()

        summary.api_calls = self.hook.stats.api_calls - calls_before
        summary.rate_limited_calls = self.hook.stats.rate_limited - limited_before
        summary.details["retries"] = self.hook.stats.retries - retries_before
        share = summary.records_rejected / summary.records_read if summary.records_read else 0.0
        summary.details["reject_share"] = round(share, 4)
        if share > request.max_reject_share:
            raise RejectShareExceeded(
                f"{summary.records_rejected} of {summary.records_read} {object_type.name} records "
                f"({share:.1%}) were rejected, above the configured {request.max_reject_share:.1%}: see "
                f"hubspot_sync.rejects WHERE run_id = '{self.run_info.run_id}' AND object_type = "
                f"'{object_type.name}'. Accepted rows are committed."
            )
        return summary

    # -- modes ---------------------------------------------------------------------------------

    def _full_load(self, request: ExtractRequest, cursor: store.Cursor, summary: RunSummary) -> _Work:
        """The list API from the lowest ids up and, on a large type, search from the highest down
        (full_load.py); resumable from the list's paging cursor and the id ranges not done."""
        name = self.object_type_name
        resuming = cursor.list_started_ms is not None
        started_ms = cursor.list_started_ms if resuming else int(time.time() * 1000)
        summary.details["mode"] = "full_load_resumed" if resuming else "full_load"
        if resuming:
            with self.conn.transaction():
                chunks = full_load.pending_chunks(self.conn, name)
            list_after = cursor.list_after  # "": from the first page; None: the list's part is done
        else:
            chunks = []
            if request.readers > 1:
                total, chunks = full_load.plan_chunks(
                    self.hook,
                    name,
                    min_records=request.split_min_records,
                    records_per_chunk=request.rows_per_transaction,
                )
                self._expected_total = total or None
            list_after = ""
            with self.conn.transaction():
                full_load.save_plan(self.conn, name, chunks)
                store.save_cursor(self.conn, name, store.Cursor(cursor.cursor_ms, "", started_ms))
        frontier = full_load.Frontier(chunks, list_running=list_after is not None)
        if chunks:  # whose turn search is, before any reader starts
            frontier.give_search_turn(full_load.search_turn(self.conn, name))
        readers: list[Reader] = []
        if list_after is not None:
            # Each list batch lands with where the list goes on: a crash resumes from there.
            def position(after: str | None) -> store.Cursor:
                return store.Cursor(cursor.cursor_ms, after, started_ms)

            readers.append(partial(self._list_reader, request, frontier, list_after or None, position))
        if chunks:
            searchers = max(1, request.readers - len(readers))
            readers += [partial(self._chunk_reader, request, frontier)] * searchers
        read = {"read_by_list": 0, "read_by_search": 0, "search_ranges": len(chunks)}
        summary.details["full_load"] = read

        def landed(batch: full_load.Batch) -> None:
            read["read_by_list" if batch.from_list else "read_by_search"] += len(batch.records)
            if batch.list_unordered:
                read["split_dropped"] = "the list returned ids out of order: it reads the rest alone"
                log.warning("%s full load: %s", name, read["split_dropped"])
            if chunks:
                frontier.give_search_turn(full_load.search_turn(self.conn, name))

        def finish() -> None:
            # Everything modified before the full load started is now in: incremental runs go on from there.
            done = store.Cursor(started_ms, None, None)
            with self.conn.transaction():
                full_load.finish(self.conn, name)
                store.save_cursor(self.conn, name, done)
            summary.details["cursor_committed"] = _describe(done)

        return _Work(readers, finish, partial(full_load.record_landed, self.conn, name), landed)

    def _list_reader(
        self,
        request: ExtractRequest,
        frontier: full_load.Frontier,
        after: str | None,
        position: Callable[[str | None], store.Cursor],
        put: Callable[[full_load.Batch], None],
    ) -> None:
        """The list cursor's part of a full load, from the lowest ids up (a reader thread)."""
        batch: list[dict[str, Any]] = []
        ordered = True
        for records, next_after in self._list_pages(
            archived=False, after=after, associations=request.associations
        ):
            batch.extend(records)
            go_on, still_ordered = frontier.list_read(_ids(records))
            just_unordered = ordered and not still_ordered
            ordered = still_ordered
            last = not next_after or not go_on
            if len(batch) >= request.rows_per_transaction or last or just_unordered:
                inline = {a: read_inline(self.hook, a, batch) for a in request.associations}
                put(
                    full_load.Batch(
                        batch,
                        inline,
                        position=position(None if last else next_after),
                        from_list=True,
                        list_read_to=frontier.list_read_to if ordered else -1,
                        list_complete=not next_after,
                        list_unordered=just_unordered,
                    )
                )
                batch = []
            if last:
                break
        frontier.list_ended()

    def _chunk_reader(
        self, request: ExtractRequest, frontier: full_load.Frontier, put: Callable[[full_load.Batch], None]
    ) -> None:
        """Search's part of a full load: id ranges from the highest down, paged by id (a reader thread)."""
        whole = full_load.search_fits(self._property_names)
        properties = self._property_names if whole else [full_load.ID_PROPERTY]
        while (chunk := frontier.take()) is not None:
            after_id = chunk.low_id - 1
            batch: list[dict[str, Any]] = []
            while True:
                body = full_load.search_body(chunk, after_id, properties)
                results = self.hook.search(self.object_type_name, body).get("results") or []
                batch.extend(results if whole else self._read_by_id(results))
                more = len(results) >= full_load.SEARCH_PAGE
                if more:
                    after_id = int(results[-1]["id"])
                if len(batch) >= request.rows_per_transaction or not more:
                    associations = {
                        a: read_all_pages(self.hook, a, _ids(batch)) for a in request.associations
                    }
                    put(full_load.Batch(batch, associations, chunk_done=None if more else chunk))
                    batch = []
                if not more:
                    break

    def _incremental(self, request: ExtractRequest, cursor: store.Cursor, summary: RunSummary) -> _Work:
        start_ms = (
            request.since_ms if request.since_ms is not None else cursor.cursor_ms
        ) - request.lookback_ms
        object_type = OBJECT_TYPES[request.object_type]
        pager = ChangedRecords(
            search=partial(self._search, object_type.name),
            last_modified_property=object_type.last_modified_property,
            start_ms=start_ms,
            end_ms=request.window_end_ms,
            properties=self._property_names,
        )
        summary.details.update(
            mode="incremental", window_start_ms=start_ms, window_end_ms=request.window_end_ms
        )

        def read(put: Callable[[full_load.Batch], None]) -> None:
            batch: list[dict[str, Any]] = []
            for page in pager.pages():
                batch.extend(page if pager.whole_records else self._read_by_id(page))
                if len(batch) >= request.rows_per_transaction:
                    # Pages come oldest first: everything before the newest landed millisecond is in.
                    put(full_load.Batch(batch, position=store.Cursor(pager.newest_ms, None, None)))
                    batch = []
            put(full_load.Batch(batch, position=store.Cursor(request.window_end_ms, None, None)))

        def finish() -> None:
            summary.details["search"] = {**vars(pager.stats), "whole_records": pager.whole_records}

        return _Work([read], finish)

    def _archived(self, request: ExtractRequest, summary: RunSummary) -> _Work:
        """Search never returns archived records: read the archive (recycle bin) and mark them, next to
        the other readers.

        The archive has no "archived since" filter, so this reads all of it (ceil(archived / 100)
        calls); `archive_sweep_ms` spaces it out on accounts with large recycle bins.
        """
        sweep_cursor = f"archived:{self.object_type_name}"
        now_ms = int(time.time() * 1000)
        last_sweep = store.read_cursor(self.conn, sweep_cursor).cursor_ms
        if last_sweep is not None and now_ms - last_sweep < request.archive_sweep_ms:
            summary.details["archived_read"] = None  # not due this run
            return _Work([])
        archived_read = [0]

        def read(put: Callable[[full_load.Batch], None]) -> None:
            batch: list[dict[str, Any]] = []
            for records, next_after in self._list_pages(archived=True, after=None):
                archived_read[0] += len(records)
                batch.extend(records)
                if len(batch) >= request.rows_per_transaction or not next_after:
                    put(full_load.Batch(batch))
                    batch = []

        def finish() -> None:
            with self.conn.transaction():
                store.save_cursor(self.conn, sweep_cursor, store.Cursor(now_ms, None, None))
            summary.details["archived_read"] = archived_read[0]

        return _Work([read], finish)

    def _read_and_land(self, works: list[_Work], summary: RunSummary, *, at_once: bool) -> None:
        """Run every reader (at once, or one after another) and land their batches here, one transaction
        each, in arrival order (a reader's own batches arrive in the order it read them)."""
        readers = [partial(_tagged, reader, work) for work in works for reader in work.readers]
        if at_once and len(readers) > 1:
            self.hook.share_between_threads()
        pipeline = full_load.Pipeline(readers, depth=2 * len(readers), at_once=at_once)
        try:
            for work, batch in pipeline.batches():
                also = partial(work.in_transaction, batch) if work.in_transaction else None
                self._land(batch.records, summary, batch.position, batch.associations, also=also)
                if work.landed is not None:
                    work.landed(batch)
        finally:
            pipeline.close()

    # -- reading -------------------------------------------------------------------------------

    def _list_pages(
        self, *, archived: bool, after: str | None, associations: tuple[AssociationType, ...] = ()
    ) -> Iterator[tuple[list[dict], str | None]]:
        in_url, by_batch = _split_for_url(self._property_names)
        to_types = [association.to_type for association in associations] or None
        for records, next_after in self.hook.iter_list_pages(
            self.object_type_name, in_url, archived=archived, after=after, associations=to_types
        ):
            if by_batch and records:
                self._complete_properties(records, by_batch, archived)
            yield records, next_after

    def _search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.hook.search(object_type, body)
        if self._expected_total is None:
            self._expected_total = int(response.get("total") or 0) or None
        return response

    def _read_by_id(self, records: list[dict]) -> list[dict]:
        """The records a search page named, read whole by batch read: their property list is too long
        for a search body. One whose id no longer answers (archived or deleted since the search) is
        left out; the archive pass lands archived records."""
        ids = [str(record["id"]) for record in records if record.get("id") is not None]
        whole: list[dict] = []
        for start in range(0, len(ids), BATCH_READ_IDS):
            chunk = ids[start : start + BATCH_READ_IDS]
            response = self.hook.batch_read(self.object_type_name, chunk, self._property_names)
            whole.extend(response.body.get("results", []))
        return whole

    @property
    def object_type_name(self) -> str:
        return self._rules.object_type

    def _complete_properties(self, records: list[dict], names: list[str], archived: bool) -> None:
        ids = [str(record["id"]) for record in records if record.get("id") is not None]
        response = self.hook.batch_read(self.object_type_name, ids, names, archived=archived)
        extra = {
            str(result.get("id")): result.get("properties") or {}
            for result in response.body.get("results", [])
        }
        for record in records:
            record.setdefault("properties", {}).update(extra.get(str(record.get("id")), {}))

    # -- landing -------------------------------------------------------------------------------

    def _land(
        self,
        records: list[dict],
        summary: RunSummary,
        position: store.Cursor | None,
        inline: dict[AssociationType, AssociationRead] | None = None,
        also: Callable[[], None] | None = None,
    ) -> None:
        # Associations read inline land with their records: a crash keeps both or neither.
        with self.conn.transaction():
            written, merged, rejects, landed = land_records(
                self.conn, self._rules, self._typed_columns, self.run_info, records, position
            )
            for association, read in (inline or {}).items():
                land_inline(self.conn, association, read, landed, self.run_info.run_id)
            if also is not None:
                also()
        # Counted once committed: after a failure, the summary says what is really in the warehouse.
        summary.records_written += written
        summary.details["merged_marked"] = summary.details.get("merged_marked", 0) + merged
        summary.details["batches_committed"] = summary.details.get("batches_committed", 0) + 1
        if position is not None:
            summary.details["cursor_committed"] = _describe(position)
        summary.records_read += len(records)
        summary.records_rejected += len({reject.record_id for reject in rejects})
        self._progress.update(summary.records_read, self._expected_total)

    def _configuration_drift(self, hubspot_properties: list[dict[str, Any]]) -> list[str]:
        """Configured properties HubSpot no longer has, or now types differently."""
        types = {prop["name"]: prop.get("type") for prop in hubspot_properties if prop.get("name")}
        notes = []
        for name, configured in self.object_config.properties.items():
            if name not in types:
                notes.append(f"configured property {name} does not exist in HubSpot (any more)")
                continue
            wanted = _TYPE_FAMILY.get(configured, configured)
            actual = _TYPE_FAMILY.get(types[name], types[name])
            if wanted != actual:
                notes.append(f"{name} is configured as {configured} but HubSpot reports {types[name]}")
        return notes


def row_rules(object_type_name: str, object_config: ObjectConfig) -> RowRules:
    """What the configuration asks of one object type's rows."""
    object_type = OBJECT_TYPES[object_type_name]
    return RowRules(
        object_type=object_type.name,
        last_modified_property=object_type.last_modified_property,
        column_types=dict(object_config.properties),
        required=object_config.required,
        email_properties=object_type.email_properties,
        policy=property_policy(object_type.name, object_config, object_type.email_properties),
    )


def land_records(
    conn: psycopg.Connection,
    rules: RowRules,
    typed_columns: list[str],
    run: RunInfo,
    records: list[dict[str, Any]],
    position: store.Cursor | None = None,
) -> tuple[int, int, list[Reject], set[int]]:
    """Land HubSpot records in one transaction with their rejects (and the cursor they cover, if any);
    returns rows written, records marked merged away, the rejects, and the ids of the rows that landed
    (changed or already equal). Reconciliation repairs through this too, so a repaired row is exactly
    what extraction would have written."""
    rows: list[Row] = []
    rejects: list[Reject] = []
    for record in records:
        row, row_rejects = to_row(record, rules)
        if row is not None:
            rows.append(row)
        rejects.extend(row_rejects)
    with conn.transaction():
        written, refused, rows = store.upsert_rows_isolating(
            conn, rules.object_type, rows, typed_columns, run.run_id
        )
        rejects.extend(refused)
        merged = store.mark_merged(conn, rules.object_type, rows, run.run_id)
        record_rejects(conn, run, rejects)
        if position is not None:
            store.save_cursor(conn, rules.object_type, position)
    return written, merged, rejects, {row.id for row in rows}


def _ids(records: list[dict[str, Any]]) -> list[int]:
    """The records' ids, in their order (one that is not an id is refused when landed)."""
    return [int(record["id"]) for record in records if str(record.get("id") or "").isdigit()]


def _describe(position: store.Cursor) -> str:
    """A saved cursor in words, for summaries and error messages."""
    if position.list_after:
        return f"the full load resumes after paging cursor {position.list_after}"
    if position.list_started_ms is not None:
        return "the full load resumes from the id ranges and list position it saved"
    if position.cursor_ms is None:
        return "no cursor"
    moment = datetime.fromtimestamp(position.cursor_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return f"every change before {moment} is in"


def _split_for_url(names: list[str]) -> tuple[list[str], list[str]]:
    """Property names that fit in a list URL, and the rest (read by batch read instead)."""
    in_url, used = [], 0
    for position, name in enumerate(names):
        cost = len(name) + len("&properties=")
        if used + cost > URL_PROPERTY_CHARS:
            return in_url, names[position:]
        in_url.append(name)
        used += cost
    return in_url, []
