"""What search sees: a lagging copy of the live records, ordered by (last-modified ms, id).

HubSpot's search index trails writes by a few seconds, so a write enters this index only ``lag_ms`` after it
happened. Records are copy-on-write (an update stores a new ``Record``), so holding the old object here is
enough to keep serving the old version until the lag passes. The ordered key list lets a last-modified range
(the way every incremental extraction searches) be answered with two bisections instead of a scan.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubspot_sandbox.records import Record

ID_BITS = 40
ID_MASK = (1 << ID_BITS) - 1
# Past this many changes at once, re-sorting the key list beats deleting keys one by one.
_BULK_THRESHOLD = 64


def modified_key(updated_ms: int, record_id: int) -> int:
    """One int that sorts like the tuple (updated_ms, id): half the memory of a tuple per record."""
    return (updated_ms << ID_BITS) | record_id


class SearchIndex:
    def __init__(self, lag_ms: int = 0) -> None:
        self.lag_ms = lag_ms
        self.docs: dict[int, Record] = {}
        self.by_modified: list[int] = []
        self._pending: deque[tuple[float, int, Record | None]] = deque()

    def put(self, record_id: int, record: Record | None) -> None:
        """Schedule the current version of a record (None: gone from search) to become searchable."""
        if self.lag_ms <= 0 and not self._pending:
            self._apply_one(record_id, record)
        else:
            self._pending.append((time.monotonic() + self.lag_ms / 1000, record_id, record))

    def put_many(self, changes: Iterable[tuple[int, Record | None]]) -> None:
        if self.lag_ms <= 0 and not self._pending:
            self._apply_bulk(list(changes))
        else:
            due = time.monotonic() + self.lag_ms / 1000
            self._pending.extend((due, record_id, record) for record_id, record in changes)

    def set_lag(self, lag_ms: int) -> None:
        self.lag_ms = max(0, lag_ms)
        if self.lag_ms == 0:
            self.refresh(flush=True)

    def refresh(self, flush: bool = False) -> None:
        """Make every change whose lag has passed searchable; call before answering a search."""
        if not self._pending:
            return
        now = time.monotonic()
        due: list[tuple[int, Record | None]] = []
        while self._pending and (flush or self._pending[0][0] <= now):
            _, record_id, record = self._pending.popleft()
            due.append((record_id, record))
        if len(due) > _BULK_THRESHOLD:
            self._apply_bulk(due)
        else:
            for record_id, record in due:
                self._apply_one(record_id, record)

    def clear(self) -> None:
        self.docs.clear()
        self.by_modified.clear()
        self._pending.clear()

    def _apply_one(self, record_id: int, record: Record | None) -> None:
        old = self.docs.pop(record_id, None)
        if old is not None:
            key = modified_key(old.updated_ms, record_id)
            position = bisect_left(self.by_modified, key)
            if position < len(self.by_modified) and self.by_modified[position] == key:
                del self.by_modified[position]
        if record is not None:
            self.docs[record_id] = record
            key = modified_key(record.updated_ms, record_id)
            self.by_modified.insert(bisect_left(self.by_modified, key), key)

    def _apply_bulk(self, changes: list[tuple[int, Record | None]]) -> None:
        removed: set[int] = set()
        added: list[int] = []
        for record_id, record in changes:
            old = self.docs.pop(record_id, None)
            if old is not None:
                removed.add(modified_key(old.updated_ms, record_id))
            if record is not None:
                self.docs[record_id] = record
        # A record changed twice in one batch must keep only its final key.
        for record_id, _ in changes:
            record = self.docs.get(record_id)
            if record is not None:
                added.append(modified_key(record.updated_ms, record_id))
        keys = [k for k in self.by_modified if k not in removed] if removed else self.by_modified
        keys.extend(sorted(set(added)))
        keys.sort()  # two sorted runs: timsort merges them in linear time
        self.by_modified = keys
