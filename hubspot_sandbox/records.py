"""Record storage for one object type: create, update, archive, merge, unique lookups and id-ordered paging.

Memory drives the layout (a million contacts must fit in well under 4 GiB): a record is a slotted object with
int ids and ms timestamps and one dict of string values; bookkeeping properties (``hs_object_id``,
``createdate``, last-modified) are derived on output instead of stored; history exists only for properties
written after creation. Records are copy-on-write so the lagging search index can keep old versions.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from decimal import Decimal

from hubspot_sandbox.errors import ApiError, not_found, validation_error
from hubspot_sandbox.object_types import ObjectType
from hubspot_sandbox.properties import PropertyRegistry
from hubspot_sandbox.search_index import ID_MASK, SearchIndex
from hubspot_sandbox.sources import CALCULATED, IMPORT, Source, current_source
from hubspot_sandbox.values import format_number

HistoryEntry = tuple[str, int, Source]  # (value, timestamp ms, who wrote it), newest first in each list


class Record:
    __slots__ = ("archived_ms", "created_ms", "history", "id", "props", "source", "updated_ms")

    def __init__(
        self,
        record_id: int,
        created_ms: int,
        updated_ms: int,
        props: dict[str, str],
        source: Source = IMPORT,
        history: dict[str, list[HistoryEntry]] | None = None,
        archived_ms: int | None = None,
    ) -> None:
        self.id = record_id
        self.created_ms = created_ms
        self.updated_ms = updated_ms
        self.archived_ms = archived_ms
        self.props = props
        self.history = history
        self.source = source

    def replaced(self, props: dict[str, str], updated_ms: int, archived_ms: int | None = None) -> Record:
        return Record(self.id, self.created_ms, updated_ms, props, self.source, self.history, archived_ms)


def recalculate(type_name: str, props: dict[str, str]) -> None:
    """Keep HubSpot's calculated properties consistent with their inputs."""
    if type_name == "deals" and "dealstage" in props:
        props["hs_is_closed"] = "true" if props["dealstage"] in ("closedwon", "closedlost") else "false"
    elif type_name == "line_items" and "price" in props:
        quantity = Decimal(props.get("quantity", "1"))
        net = (Decimal(props["price"]) - Decimal(props.get("discount", "0"))) * quantity
        props["amount"] = format_number(net)


class ObjectTable:
    """All records of one object type, live, archived and merged-away."""

    def __init__(self, object_type: ObjectType, registry: PropertyRegistry, search: SearchIndex) -> None:
        self.object_type = object_type
        self.registry = registry
        self.search = search
        self.live: dict[int, Record] = {}
        self.archived: dict[int, Record] = {}
        self.redirects: dict[int, int] = {}
        # Append-only list of ids in creation order; archived ids are skipped when read, compacted when many.
        self._id_order: list[int] = []
        self._dead_in_order = 0
        self.unique: dict[str, dict[str, int]] = {name: {} for name in registry.unique_names()}

    # ---- reads
    def resolve_id(self, record_id: int) -> int:
        seen = 0
        while record_id in self.redirects and seen < 64:
            record_id = self.redirects[record_id]
            seen += 1
        return record_id

    def get(self, record_id: int, archived: bool = False) -> Record | None:
        if archived:
            return self.archived.get(record_id)
        return self.live.get(self.resolve_id(record_id))

    def find(self, raw_id: str, id_property: str | None, archived: bool = False) -> Record | None:
        """A record by its id, or by the value of a unique property such as email."""
        if id_property and id_property != "hs_object_id":
            if id_property not in self.unique:
                raise validation_error(f"{id_property} is not a unique property of {self.object_type.name}.")
            if archived:
                return None
            found = self.unique[id_property].get(_unique_key(id_property, raw_id))
            return self.live.get(found) if found is not None else None
        record_id = parse_id(raw_id)
        return None if record_id is None else self.get(record_id, archived)

    def page(self, after_id: int, limit: int, archived: bool) -> tuple[list[Record], int | None]:
        """Up to ``limit`` records with id >= after_id in id order, and the id the next page starts at."""
        if archived:
            ids: list[int] = sorted(self.archived)
            source = self.archived
        else:
            ids = self._id_order
            source = self.live
        page: list[Record] = []
        position = bisect_left(ids, after_id)
        while position < len(ids):
            record = source.get(ids[position])
            if record is not None:
                if len(page) == limit:
                    return page, record.id
                page.append(record)
            position += 1
        return page, None

    def __iter__(self) -> Iterator[Record]:
        return iter(self.live.values())

    # ---- writes
    def insert(self, record: Record) -> Record:
        """Store a new record whose values are already valid; enforces unique properties."""
        self._check_unique(record.props, None)
        self.live[record.id] = record
        self._id_order.append(record.id)
        self._index_unique(None, record)
        self.search.put(record.id, record)
        return record

    def load(self, records: list[Record]) -> None:
        """Bulk insert of generated records: ids increasing and above every existing id, values valid."""
        for record in records:
            self.live[record.id] = record
            self._index_unique(None, record)
        self._id_order.extend(record.id for record in records)
        self.search.put_many((record.id, record) for record in records)

    def create(
        self, record_id: int, values: dict[str, str], now: int, source: Source | None = None
    ) -> Record:
        """A new record; its creation values are its first history entries (derived, not stored)."""
        props = {name: value for name, value in values.items() if value != ""}
        recalculate(self.object_type.name, props)
        return self.insert(Record(record_id, now, now, props, source or current_source()))

    def update(
        self,
        record_id: int,
        values: dict[str, str],
        now: int,
        source: Source | None = None,
        *,
        written_ms: int | None = None,
        touch: bool = True,
        reach_search: bool = True,
    ) -> Record:
        """Write values; a changed value gets a history entry from ``source`` (default: the current writer).

        ``written_ms`` is when the write happened (default: a ms after the last one); with ``touch`` false
        last-modified stays put and with ``reach_search`` false search keeps the old version: drift that
        HubSpot's bookkeeping sometimes lets through and an incremental sync cannot see.
        """
        old = self.live.get(self.resolve_id(record_id))
        if old is None:
            raise not_found(f"Object not found. {self.object_type.singular} {record_id} does not exist.")
        self._check_unique(values, old.id)
        source = source or current_source()
        at_ms = max(now, old.updated_ms + 1) if written_ms is None else written_ms  # every write bumps it
        props = dict(old.props)
        history = old.history
        for name, value in values.items():
            if props.get(name, "") == value:
                continue
            history = self._record_history(old, history, name, value, at_ms, source)
            if value == "":
                props.pop(name, None)
            else:
                props[name] = value
        before = dict(props)
        recalculate(self.object_type.name, props)
        for name, value in props.items():
            if before.get(name) != value:
                history = self._record_history(old, history, name, value, at_ms, CALCULATED)
        new = old.replaced(props, at_ms if touch else old.updated_ms)
        new.history = history
        self.live[old.id] = new
        self._index_unique(old, new)
        if reach_search:
            self.search.put(old.id, new)
        return new

    def archive(self, record_id: int, now: int) -> bool:
        old = self.live.pop(self.resolve_id(record_id), None)
        if old is None:
            return False
        self._index_unique(old, None)
        self.archived[old.id] = old.replaced(old.props, max(now, old.updated_ms + 1), archived_ms=now)
        self.search.put(old.id, None)
        self._forget_order(1)
        return True

    def remove_merged(self, record_id: int, survivor_id: int) -> None:
        old = self.live.pop(record_id)
        self._index_unique(old, None)
        self.redirects[record_id] = survivor_id
        self.search.put(record_id, None)
        self._forget_order(1)

    def purge(self, record_ids: set[int]) -> set[int]:
        """Remove records for good (GDPR deletion, recycle bin expiry), live or archived, with their
        unique values and every merged-away id that resolved to them; returns the ids removed."""
        removed = set()
        for record_id in record_ids:
            record = self.live.pop(record_id, None)
            if record is not None:
                self._index_unique(record, None)
                self.search.put(record_id, None)
                self._forget_order(1)
            elif self.archived.pop(record_id, None) is None:
                continue
            removed.add(record_id)
        if removed:
            self.redirects = {
                old: new for old, new in self.redirects.items() if self.resolve_id(new) not in removed
            }
        return removed

    def touch_many(self, records: list[Record], updated_ms: int, values: dict[str, str]) -> None:
        """Give many records one identical last-modified ms (what a bulk import does in HubSpot)."""
        changes = []
        for old in records:
            props = dict(old.props)
            history = old.history
            for name, value in values.items():
                if props.get(name, "") != value:
                    history = self._record_history(old, history, name, value, updated_ms, IMPORT)
            props.update({k: v for k, v in values.items() if v != ""})
            for name in [k for k, v in values.items() if v == ""]:
                props.pop(name, None)
            new = old.replaced(props, updated_ms)
            new.history = history
            self.live[old.id] = new
            changes.append((old.id, new))
        self.search.put_many(changes)

    def clear_unique_index(self) -> None:
        self.unique = {name: {} for name in self.registry.unique_names()}
        for record in self.live.values():
            self._index_unique(None, record)

    # ---- internals
    def _record_history(
        self,
        old: Record,
        history: dict[str, list[HistoryEntry]] | None,
        name: str,
        value: str,
        at_ms: int,
        source: Source,
    ) -> dict[str, list[HistoryEntry]]:
        """A copy of ``history`` with the new entry; the first write of a property also stores the
        creation value it replaces, which until then was derived from the record."""
        history = dict(history) if history else {}
        entries = list(history.get(name, ()))
        if not entries and name in old.props:
            entries.append((old.props[name], old.created_ms, old.source))
        # Newest first; a write dated before later ones (a back-dated control write) slots in by time.
        position = 0
        while position < len(entries) and entries[position][1] > at_ms:
            position += 1
        entries.insert(position, (value, at_ms, source))
        history[name] = entries
        return history

    def _check_unique(self, values: dict[str, str], own_id: int | None) -> None:
        for name, index in self.unique.items():
            value = values.get(name)
            if not value:
                continue
            existing = index.get(_unique_key(name, value))
            if existing is not None and existing != own_id:
                if name == "email":
                    message = f"Contact already exists. Existing ID: {existing}"
                else:
                    singular = self.object_type.singular
                    message = f"A {singular} with {name}={value} already exists. Existing ID: {existing}"
                raise ApiError(409, "CONFLICT", message)

    def _index_unique(self, old: Record | None, new: Record | None) -> None:
        for name, index in self.unique.items():
            old_value = old.props.get(name) if old else None
            new_value = new.props.get(name) if new else None
            if old_value and old_value != new_value and old is not None:
                index.pop(_unique_key(name, old_value), None)
            if new_value and new is not None:
                index[_unique_key(name, new_value)] = new.id

    def _forget_order(self, count: int) -> None:
        self._dead_in_order += count
        if self._dead_in_order > 1024 and self._dead_in_order > len(self._id_order) // 2:
            self._id_order = [i for i in self._id_order if i in self.live]
            self._dead_in_order = 0

    def reset_order(self) -> None:
        self._id_order = sorted(self.live)
        self._dead_in_order = 0


def _unique_key(name: str, value: str) -> str:
    return value.strip().lower() if name == "email" else value


def parse_id(raw: str | int) -> int | None:
    """HubSpot ids are positive integers carried as strings; anything else finds nothing."""
    text = str(raw).strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= ID_MASK else None


IdFactory = Callable[[], int]
