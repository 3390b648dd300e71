"""What search sees: a lagging copy of the live records, ordered by (last-modified ms, tie rank).

HubSpot's search index trails writes by a few seconds, and not by the same amount for every write: here
each write enters the index after ``lag_ms`` plus a seeded random share of ``jitter_ms``, so records
written together become searchable one by one and not in the order they were written. Two versions of
one record still become searchable in the order they were written. Records are copy-on-write (an update
stores a new ``Record``), so holding the old object here is enough to keep serving the old version
until the lag passes.

Records modified in the same millisecond are ordered by a seeded hash of their id (the tie rank), not
by id: HubSpot does not document an order for them, so a client must not be able to lean on one. The
ordered key list lets a last-modified range (the way every incremental extraction searches) be answered
with two bisections instead of a scan.
"""

from __future__ import annotations

import heapq
import random
import time
from bisect import bisect_left
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubspot_sandbox.records import Record

ID_BITS = 40
ID_MASK = (1 << ID_BITS) - 1
# A write becomes searchable 2 to 5 seconds after it happened, unless configured otherwise.
DEFAULT_LAG_MS = 2_000
DEFAULT_JITTER_MS = 3_000
DEFAULT_SEED = 14_081
# Past this many changes at once, re-sorting the key list beats deleting keys one by one.
_BULK_THRESHOLD = 64
# Multiplying by an odd number modulo 2**40 is a bijection: it scatters consecutive ids and can be undone.
_TIE_MULTIPLIER = 0x9E3779B97F
_TIE_INVERSE = pow(_TIE_MULTIPLIER, -1, 1 << ID_BITS)


def modified_key(updated_ms: int, tie_rank: int) -> int:
    """One int that sorts like the tuple (updated_ms, tie rank): half the memory of a tuple per record."""
    return (updated_ms << ID_BITS) | tie_rank


class SearchIndex:
    def __init__(self, lag_ms: int = 0, jitter_ms: int = 0, seed: int = DEFAULT_SEED) -> None:
        self.lag_ms = max(0, lag_ms)
        self.jitter_ms = max(0, jitter_ms)
        self._seed = seed & ID_MASK
        self._random = random.Random(seed)
        self.docs: dict[int, Record] = {}
        self.by_modified: list[int] = []
        self._by_id: list[int] | None = []  # the searchable ids in order; None when it must be rebuilt
        # (due, write sequence, id, version) in a heap: with jitter, writes do not fall due in order.
        self._pending: list[tuple[float, int, int, Record | None]] = []
        self._sequence = 0
        # The last pending write per record, so a newer version never falls due before an older one.
        self._last_due: dict[int, tuple[float, int]] = {}

    # ---- tie order

    def tie_rank(self, record_id: int) -> int:
        return ((record_id ^ self._seed) * _TIE_MULTIPLIER) & ID_MASK

    def key(self, record: Record) -> int:
        return modified_key(record.updated_ms, self.tie_rank(record.id))

    def ids_in_order(self) -> list[int]:
        """The searchable ids, ascending (rebuilt after the index changed)."""
        if self._by_id is None:
            self._by_id = sorted(self.docs)
        return self._by_id

    def record_at(self, key: int) -> Record:
        return self.docs[(((key & ID_MASK) * _TIE_INVERSE) & ID_MASK) ^ self._seed]

    # ---- writes

    def put(self, record_id: int, record: Record | None) -> None:
        """Schedule the current version of a record (None: gone from search) to become searchable."""
        if self.lag_ms <= 0 and not self._pending:
            self._apply_one(record_id, record)
        else:
            self._schedule(time.monotonic(), [(record_id, record)])

    def put_many(self, changes: Iterable[tuple[int, Record | None]]) -> None:
        if self.lag_ms <= 0 and not self._pending:
            self._apply_bulk(list(changes))
        else:
            self._schedule(time.monotonic(), list(changes))

    def set_lag(self, lag_ms: int, jitter_ms: int | None = None) -> None:
        self.lag_ms = max(0, lag_ms)
        if jitter_ms is not None:
            self.jitter_ms = max(0, jitter_ms)
        if self.lag_ms == 0:
            self.refresh(flush=True)

    def refresh(self, flush: bool = False) -> None:
        """Make every change whose lag has passed searchable; call before answering a search."""
        if not self._pending:
            return
        now = time.monotonic()
        due: list[tuple[int, Record | None]] = []
        while self._pending and (flush or self._pending[0][0] <= now):
            _, sequence, record_id, record = heapq.heappop(self._pending)
            if self._last_due.get(record_id, (0.0, -1))[1] == sequence:
                del self._last_due[record_id]
            due.append((record_id, record))
        if len(due) > _BULK_THRESHOLD:
            self._apply_bulk(due)
        else:
            for record_id, record in due:
                self._apply_one(record_id, record)

    def clear(self) -> None:
        self._by_id = []
        self.docs.clear()
        self.by_modified.clear()
        self._pending.clear()
        self._last_due.clear()

    def _schedule(self, now: float, changes: list[tuple[int, Record | None]]) -> None:
        entries = []
        for record_id, record in changes:
            delay_ms = self.lag_ms + (self._random.uniform(0, self.jitter_ms) if self.jitter_ms else 0)
            due = now + delay_ms / 1000
            previous = self._last_due.get(record_id)
            if previous is not None and previous[0] > due:
                due = previous[0]
            self._sequence += 1
            self._last_due[record_id] = (due, self._sequence)
            entries.append((due, self._sequence, record_id, record))
        if len(entries) > len(self._pending):
            self._pending.extend(entries)
            heapq.heapify(self._pending)
        else:
            for entry in entries:
                heapq.heappush(self._pending, entry)

    # ---- applying due changes

    def _apply_one(self, record_id: int, record: Record | None) -> None:
        self._by_id = None
        old = self.docs.pop(record_id, None)
        if old is not None:
            key = self.key(old)
            position = bisect_left(self.by_modified, key)
            if position < len(self.by_modified) and self.by_modified[position] == key:
                del self.by_modified[position]
        if record is not None:
            self.docs[record_id] = record
            key = self.key(record)
            self.by_modified.insert(bisect_left(self.by_modified, key), key)

    def _apply_bulk(self, changes: list[tuple[int, Record | None]]) -> None:
        self._by_id = None
        removed: set[int] = set()
        added: list[int] = []
        for record_id, record in changes:
            old = self.docs.pop(record_id, None)
            if old is not None:
                removed.add(self.key(old))
            if record is not None:
                self.docs[record_id] = record
        # A record changed twice in one batch must keep only its final key.
        for record_id, _ in changes:
            record = self.docs.get(record_id)
            if record is not None:
                added.append(self.key(record))
        keys = [k for k in self.by_modified if k not in removed] if removed else self.by_modified
        keys.extend(sorted(set(added)))
        keys.sort()  # two sorted runs: timsort merges them in linear time
        self.by_modified = keys
