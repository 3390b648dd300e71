"""A full load read by several readers at once and landed by one writer.

The list API pages by an opaque cursor, so one reader follows it, and at 100-300 ms a call one reader
uses a fraction of the rate budget. On an object type of `split_min_records` or more, CRM search
helps it: the id range is cut into chunks of about one transaction's records, search readers take
chunks from the highest ids down (paging each by id, so no chunk meets search's 10,000 cap), and the
list cursor reads from the lowest ids up (HubSpot lists records in id order). They meet in the middle:
the list stops once it has read past the lowest chunk a search reader took, and no reader takes a
chunk the list has passed. Search has its own limit (5 a second), so its readers add to what the
list's budget reads.

Search's limit is per account, so full loads running at once (one task per object type) share it.
Every list cursor reads at about the same pace, so the type with the most ranges left is the one
that would finish last: it gets search, and the others leave it search (their list cursors read on)
until they have as many left. Each writer re-weighs this as its batches land, from
`hubspot_sync.full_load_chunks`, which every task shares.

Should the list ever return ids out of order, the split is abandoned: the list reads to its end and
the chunks not yet read are dropped, so nothing is skipped.

Every API call runs in a reader thread; every database write runs on the caller's thread, one batch a
transaction, together with what the batch covers: the list's paging cursor, or the chunk it finishes.
A crash resumes from both (the list from its cursor, search from the chunks not done); a record read
twice lands once.

Not responsible for: what a record becomes (engine.land_records), reading pages (the engine's readers).
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from typing import Any

import psycopg

from hubspot_sync.extract.associations import AssociationRead
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import AssociationType
from hubspot_sync.search_paging import MAX_BODY_CHARS
from hubspot_sync.sql import load_sql

ID_PROPERTY = "hs_object_id"
SEARCH_PAGE = 200  # CRM search's largest page
_NO_ID = -1
_LONGEST_ID = 10**19 - 1


@dataclass(frozen=True)
class Chunk:
    low_id: int  # inclusive
    high_id: int | None  # exclusive; None: no upper bound (the top chunk)

    def filters(self, after_id: int) -> list[dict[str, str]]:
        """Search filters for this chunk's ids above `after_id`."""
        filters = [
            {"propertyName": ID_PROPERTY, "operator": "GT", "value": str(max(after_id, self.low_id - 1))}
        ]
        if self.high_id is not None:
            filters.append({"propertyName": ID_PROPERTY, "operator": "LT", "value": str(self.high_id)})
        return filters


@dataclass
class Batch:
    """Records read by one reader, landed in one transaction with what they cover."""

    records: list[dict[str, Any]]
    associations: dict[AssociationType, AssociationRead] = field(default_factory=dict)
    position: Any = None  # the object type's cursor (store.Cursor) saved with the batch, if any
    from_list: bool = False
    list_read_to: int = _NO_ID  # list batches: every id up to this one has been read
    list_complete: bool = False  # the list read to its end: every chunk is covered
    list_unordered: bool = False  # the list was seen out of id order: drop the chunks not read
    chunk_done: Chunk | None = None  # a search reader's last batch of a chunk


def search_body(chunk: Chunk, after_id: int, properties: list[str]) -> dict[str, Any]:
    """One page of a chunk: its ids above `after_id`, in id order (keyset paging, no offset)."""
    return {
        "filterGroups": [{"filters": chunk.filters(after_id)}],
        "sorts": [{"propertyName": ID_PROPERTY, "direction": "ASCENDING"}],
        "properties": properties,
        "limit": SEARCH_PAGE,
        "after": "0",
    }


def search_fits(properties: list[str]) -> bool:
    """Whether a chunk's search body can carry these properties (else it asks for ids only and the
    records are read by batch read)."""
    longest = search_body(Chunk(_LONGEST_ID, _LONGEST_ID), _LONGEST_ID, properties)
    return len(json.dumps(longest)) <= MAX_BODY_CHARS


# -- the plan ------------------------------------------------------------------------------------


def plan_chunks(
    hook: HubSpotHook, object_type: str, *, min_records: int, records_per_chunk: int
) -> tuple[int, list[Chunk]]:
    """(records search counts, chunks highest first); no chunks when the type is smaller than
    `min_records`. Two searches: the highest id with the total, then the lowest id."""

    def edge(direction: str) -> tuple[int, int | None]:
        body = {
            "filterGroups": [],
            "sorts": [{"propertyName": ID_PROPERTY, "direction": direction}],
            "properties": [ID_PROPERTY],
            "limit": 1,
        }
        response = hook.search(object_type, body)
        results = response.get("results") or []
        first = str(results[0].get("id")) if results else ""
        return int(response.get("total") or 0), int(first) if first.isdigit() else None

    total, highest = edge("DESCENDING")
    if total < min_records or highest is None:
        return total, []
    _, lowest = edge("ASCENDING")
    if lowest is None or lowest > highest:
        return total, []
    # Ids are spread unevenly (imports, deletions); a chunk of unusual density only costs more pages.
    span = max(1, math.ceil((highest - lowest + 1) * records_per_chunk / total))
    chunks: list[Chunk] = []
    high: int | None = None
    low = highest + 1
    while True:
        low = max(lowest, low - span)
        chunks.append(Chunk(low, high))
        if low <= lowest:
            return total, chunks
        high = low


def save_plan(conn: psycopg.Connection, object_type: str, chunks: list[Chunk]) -> None:
    conn.execute(load_sql("extract/chunks_clear"), {"object_type": object_type})
    with conn.cursor() as cursor:
        cursor.executemany(
            load_sql("extract/chunks_insert"),
            [{"object_type": object_type, "low_id": c.low_id, "high_id": c.high_id} for c in chunks],
        )


def pending_chunks(conn: psycopg.Connection, object_type: str) -> list[Chunk]:
    rows = conn.execute(load_sql("extract/chunks_read"), {"object_type": object_type}).fetchall()
    return [Chunk(low, high) for low, high in rows]


def record_landed(conn: psycopg.Connection, object_type: str, batch: Batch) -> None:
    """Inside the batch's transaction: the chunks it finished or that the list has passed."""
    if batch.list_unordered:
        conn.execute(load_sql("extract/chunks_abandon"), {"object_type": object_type})
    if batch.chunk_done is None and not batch.from_list:
        return
    conn.execute(
        load_sql("extract/chunks_done"),
        {
            "object_type": object_type,
            "low_id": batch.chunk_done.low_id if batch.chunk_done else None,
            # A chunk [low, high) is covered once the list has read every id up to high - 1.
            "below": batch.list_read_to + 1 if batch.from_list and batch.list_read_to != _NO_ID else None,
            "all": batch.list_complete,
        },
    )


def search_turn(conn: psycopg.Connection, object_type: str) -> bool:
    """Whether this type's search readers may read now: no type has more ranges left (search's
    per-account limit goes where it shortens the whole load)."""
    left = dict(conn.execute(load_sql("extract/chunks_by_type")).fetchall())
    mine = left.get(object_type, 0)
    return mine > 0 and mine >= max(left.values(), default=0)


def finish(conn: psycopg.Connection, object_type: str) -> None:
    """Inside the transaction that completes the full load: every chunk must be done."""
    left = conn.execute(load_sql("extract/chunks_pending"), {"object_type": object_type}).fetchone()[0]
    if left:
        raise RuntimeError(
            f"{object_type} full load: {left} id ranges were neither read by search nor passed by the list; "
            "the full load stays open and the next run reads them"
        )
    conn.execute(load_sql("extract/chunks_clear"), {"object_type": object_type})


# -- coordination --------------------------------------------------------------------------------


class Frontier:
    """Where the list cursor (from below) and the search readers (from above) stand; thread-safe."""

    def __init__(self, chunks: list[Chunk], *, list_running: bool) -> None:
        self._lock = threading.Lock()
        self._pending = list(chunks)  # highest first
        self._list_running = list_running
        self._list_read_to = _NO_ID
        self._lowest_taken: int | None = None
        self._ordered = True
        self._search_turn = threading.Event()
        self._search_turn.set()

    def give_search_turn(self, turn: bool) -> None:
        """Let search readers take chunks (True), or hold them while another type reads (False)."""
        if turn:
            self._search_turn.set()
        else:
            self._search_turn.clear()

    def take(self) -> Chunk | None:
        """The next chunk for a search reader, or None when the rest is the list's (or all is taken).
        Waits while search is another type's turn, unless the list has stopped (then search must go on)."""
        while not self._search_turn.wait(timeout=0.5):
            with self._lock:
                if not self._list_running or not self._pending:
                    break
        with self._lock:
            if not self._pending or not self._ordered:
                return None
            chunk = self._pending[0]
            if self._list_running and chunk.high_id is not None and chunk.high_id - 1 <= self._list_read_to:
                self._pending.clear()  # the list has read these already
                return None
            self._pending.pop(0)
            self._lowest_taken = chunk.low_id
            return chunk

    def list_read(self, ids: list[int]) -> tuple[bool, bool]:
        """The list read a page with these ids, in this order: (go on, still in id order). The list
        stops once it has read past the lowest chunk a search reader took."""
        with self._lock:
            if self._ordered:
                if any(b <= a for a, b in pairwise([self._list_read_to, *ids])):
                    self._ordered = False
                    self._pending.clear()
                    return True, False
                if ids:
                    self._list_read_to = ids[-1]
            if not self._ordered:
                return True, False
            go_on = self._lowest_taken is None or self._list_read_to < self._lowest_taken
            if not go_on:  # every chunk not taken lies below what the list has read
                self._list_running = False
                self._pending.clear()
            return go_on, True

    def list_ended(self) -> None:
        with self._lock:
            self._list_running = False
            self._pending.clear()

    @property
    def list_read_to(self) -> int:
        with self._lock:
            return self._list_read_to


def _one_after_another(
    readers: list[Callable[[Callable[[Any], None]], None]], put: Callable[[Any], None]
) -> None:
    for reader in readers:
        reader(put)


class _Stopped(Exception):
    """The pipeline is stopping: a reader leaves quietly."""


class Pipeline:
    """Readers in threads hand batches to the caller's thread through a bounded queue.

    `batches()` yields them in arrival order and, once every reader is done, ends; the first error
    of a reader is raised there after the other readers were told to stop. Should the caller stop
    early (an error while landing), `close()` stops the readers. With `at_once` false the readers run
    one after another on one thread (one HubSpot call in flight at a time)."""

    def __init__(
        self, readers: list[Callable[[Callable[[Any], None]], None]], *, depth: int, at_once: bool = True
    ) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        if not at_once and len(readers) > 1:
            readers = [partial(_one_after_another, readers)]
        self._threads = [
            threading.Thread(target=self._run, args=(reader,), name=f"hubspot-reader-{n}", daemon=True)
            for n, reader in enumerate(readers)
        ]

    def batches(self) -> Iterator[Any]:
        for thread in self._threads:
            thread.start()
        running = len(self._threads)
        error: BaseException | None = None
        while running:
            item = self._queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                running -= 1
                if error is None:
                    error = item
                    self._stop.set()
            elif error is None:
                yield item
        if error is not None:
            raise error

    def close(self, timeout: float = 60.0) -> None:
        self._stop.set()
        while any(thread.is_alive() for thread in self._threads):
            with contextlib.suppress(queue.Empty):  # unblock readers waiting on a full queue
                self._queue.get(timeout=0.1)
            timeout -= 0.1
            if timeout <= 0:
                return  # daemon threads: they stop at their next hand-over

    def _run(self, reader: Callable[[Callable[[Any], None]], None]) -> None:
        try:
            reader(self._put)
        except _Stopped:
            pass
        except BaseException as error:  # handed to the caller's thread, raised there
            self._put_final(error)
            return
        self._put_final(None)

    def _put(self, batch: Any) -> None:
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                self._queue.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def _put_final(self, item: BaseException | None) -> None:
        self._queue.put(item)  # the caller reads on, or close() drains
