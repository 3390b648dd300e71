"""CRM search: request validation, index ranges, sorting and offset paging with the 10,000 cap.

Filters on the last-modified property are turned into ranges of the search index's ordered
(last-modified, tie rank) keys; other filters are evaluated only on the records inside those ranges. A
query the ranges fully describe is answered without touching records beyond the page it returns, which is
what keeps a 200-record page fast at a million records. Records equal under the sort come back in the
index's tie order (a seeded hash of the id), never in id order unless sorted by ``hs_object_id``.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hubspot_sandbox.errors import validation_error
from hubspot_sandbox.records import ObjectTable, Record
from hubspot_sandbox.search_filters import compile_filter, to_ms, typed_getter
from hubspot_sandbox.search_index import ID_MASK, SearchIndex, modified_key

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
RESULT_CAP = 10_000
MAX_LIMIT = 200
MAX_BODY_CHARS = 3_000
_MAX_MS = 1 << 50  # far beyond any real timestamp; keys are Python ints, so no overflow


@dataclass
class SearchLimits:
    """Filter caps; HubSpot's docs disagree (5/6/18 vs 5/10/25), so the control API can change them."""

    max_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18


@dataclass
class SearchRequest:
    groups: list[list[dict[str, Any]]]
    sort_property: str | None
    descending: bool
    properties: list[str] | None
    limit: int
    after: int
    query: str | None


def check_body_size(raw: bytes) -> None:
    """HubSpot refuses a search request body longer than 3,000 characters."""
    chars = len(raw.decode("utf-8", errors="replace"))
    if chars > MAX_BODY_CHARS:
        raise validation_error(
            f"The search request body has {chars} characters; the maximum is {MAX_BODY_CHARS}. "
            "Ask for fewer properties and read the rest by batch read.",
            context={"bodyCharacters": [str(chars)]},
        )


def parse_request(table: ObjectTable, body: Any, limits: SearchLimits) -> SearchRequest:
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: the search request must be an object")
    groups_raw = body.get("filterGroups") or []
    if not isinstance(groups_raw, list):
        raise validation_error("Invalid input JSON: `filterGroups` must be an array")
    top_level = body.get("filters")
    if top_level:
        # A top-level `filters` array is one more AND group, ORed with any `filterGroups`.
        if not isinstance(top_level, list):
            raise validation_error("Invalid input JSON: `filters` must be an array")
        groups_raw = [*groups_raw, {"filters": top_level}]
    if len(groups_raw) > limits.max_groups:
        raise validation_error(
            f"Too many filter groups ({len(groups_raw)}); the maximum is {limits.max_groups}."
        )
    groups: list[list[dict[str, Any]]] = []
    for group in groups_raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error("Invalid input JSON: each filter group needs a `filters` array")
        if len(filters) > limits.max_filters_per_group:
            raise validation_error(
                f"Too many filters in a group ({len(filters)}); "
                f"the maximum is {limits.max_filters_per_group}."
            )
        groups.append([_check_filter(table, f) for f in filters])
    total_filters = sum(len(g) for g in groups)
    if total_filters > limits.max_filters_total:
        raise validation_error(
            f"Too many filters ({total_filters}); the maximum is {limits.max_filters_total}."
        )
    sort_property, descending = _parse_sorts(table, body.get("sorts"))
    properties = body.get("properties")
    if properties is not None and (
        not isinstance(properties, list) or not all(isinstance(p, str) for p in properties)
    ):
        raise validation_error("Invalid input JSON: `properties` must be an array of strings")
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise validation_error(f"`limit` must be an integer between 0 and {MAX_LIMIT}.")
    after = _parse_after(body.get("after"))
    query = body.get("query")
    if query is not None and not isinstance(query, str):
        raise validation_error("Invalid input JSON: `query` must be a string")
    return SearchRequest(groups, sort_property, descending, properties, limit, after, query or None)


def _parse_after(raw: Any) -> int:
    if raw is None or raw == "":
        return 0
    text = str(raw)
    if isinstance(raw, bool) or not text.isdigit():
        raise validation_error(f"`after` must be a non-negative integer offset, got {text!r}.")
    after = int(text)
    if after >= RESULT_CAP:
        raise validation_error(
            f"Cannot page past {RESULT_CAP} results (after={after}). Narrow the query instead, for example "
            "by "
            "restarting from the last seen modification time and id."
        )
    return after


def _parse_sorts(table: ObjectTable, raw: Any) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    if not isinstance(raw, list):
        raise validation_error("Invalid input JSON: `sorts` must be an array")
    if len(raw) > 1:
        raise validation_error("Only one sort is supported.")
    sort = raw[0]
    if isinstance(sort, str):
        name, descending = sort.lstrip("-"), sort.startswith("-")
    elif isinstance(sort, dict) and isinstance(sort.get("propertyName"), str):
        direction = sort.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise validation_error(f"Sort direction must be ASCENDING or DESCENDING, got {direction!r}.")
        name, descending = sort["propertyName"], direction == "DESCENDING"
    else:
        raise validation_error("Invalid input JSON: a sort is a property name or {propertyName, direction}")
    if table.registry.get(name) is None:
        raise validation_error(f"Cannot sort by unknown property {name!r}.")
    return name, descending


def _check_filter(table: ObjectTable, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise validation_error("Invalid input JSON: a filter must be an object")
    name, operator = raw.get("propertyName"), raw.get("operator", "EQ")
    if not isinstance(name, str) or table.registry.get(name) is None:
        raise validation_error(
            f"Invalid filter: property {name!r} does not exist on {table.object_type.name}."
        )
    if operator not in OPERATORS:
        raise validation_error(f"Invalid filter operator {operator!r}; expected one of {sorted(OPERATORS)}.")
    if operator in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"Operator {operator} needs a non-empty `values` array.")
    elif operator == "BETWEEN":
        if raw.get("value") is None or raw.get("highValue") is None:
            raise validation_error("Operator BETWEEN needs `value` and `highValue`.")
    elif operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY") and raw.get("value") is None:
        raise validation_error(f"Operator {operator} needs a `value`.")
    return {**raw, "operator": operator}


# ---- index ranges


def _key_range(table: ObjectTable, filters: list[dict[str, Any]]) -> tuple[int, int, bool] | None:
    """(low key, high key, fully described) a group's filters allow, inclusive; None when unconstrained.

    Inside one millisecond the keys follow the tie rank, not the id, so an ``hs_object_id`` filter never
    narrows the range: it is evaluated on the records of the range instead."""
    modified = table.object_type.last_modified_property
    low_ms, high_ms = 0, _MAX_MS
    covered = True
    constrained = False
    for f in filters:
        operator = f["operator"]
        if f["propertyName"] == modified and operator in ("EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"):
            constrained = True
            high_value = to_ms(f["highValue"]) if operator == "BETWEEN" else None
            low_ms, high_ms = _narrowed(low_ms, high_ms, operator, to_ms(f["value"]), high_value)
        else:
            covered = False
    if not constrained:
        return None
    if low_ms > high_ms or high_ms < 0:
        return (1, 0, covered)
    return modified_key(max(low_ms, 0), 0), modified_key(high_ms, ID_MASK), covered


_ID_BOUND_OPERATORS = ("EQ", "GT", "GTE", "LT", "LTE")


def _narrowed(
    low: int, high: int, operator: str, value: int, high_value: int | None = None
) -> tuple[int, int]:
    """The inclusive integer range [low, high] narrowed by one comparison filter."""
    if operator in ("EQ", "GTE", "BETWEEN"):
        low = max(low, value)
    if operator == "GT":
        low = max(low, value + 1)
    if operator in ("EQ", "LTE"):
        high = min(high, value)
    if operator == "LT":
        high = min(high, value - 1)
    if operator == "BETWEEN" and high_value is not None:
        high = min(high, high_value)
    return low, high


def _id_bounds(groups: list[list[dict[str, Any]]]) -> list[tuple[int, int]] | None:
    """Inclusive id bounds per filter group when every group bounds `hs_object_id`; None otherwise."""
    bounds = []
    for group in groups:
        low, high, bounded = 0, 2**63 - 1, False
        for f in group:
            if f["propertyName"] != "hs_object_id" or f["operator"] not in _ID_BOUND_OPERATORS:
                continue
            try:
                value = int(str(f["value"]))
            except ValueError:
                continue
            bounded = True
            low, high = _narrowed(low, high, f["operator"], value)
        if not bounded:
            return None
        bounds.append((low, high))
    return bounds or None


def _position_spans(keys: list[int], ranges: list[tuple[int, int, bool]]) -> list[tuple[int, int]]:
    """Merged, ordered [start, stop) positions of the key list covered by any of the ranges."""
    spans = sorted(
        (bisect_left(keys, low), bisect_right(keys, high)) for low, high, _ in ranges if low <= high
    )
    merged: list[tuple[int, int]] = []
    for start, stop in spans:
        if start >= stop:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


# ---- execution


def run_search(table: ObjectTable, request: SearchRequest) -> tuple[int, list[Record]]:
    """(total matches, the page of records) for a parsed request, as the lagging index sees them."""
    index = table.search
    index.refresh()
    group_predicates = [[compile_filter(table, f) for f in group] for group in request.groups]
    if request.query:
        group_predicates = [[*g, _text_predicate(table, request.query)] for g in (group_predicates or [[]])]

    def matches(record: Record) -> bool:
        if not group_predicates:
            return True
        return any(all(p(record) for p in group) for group in group_predicates)

    ranges = [_key_range(table, group) for group in request.groups]
    use_index = bool(ranges) and all(r is not None for r in ranges)
    sort_by_modified = request.sort_property == table.object_type.last_modified_property
    window_end = min(request.after + request.limit, RESULT_CAP)

    if use_index:
        spans = _position_spans(index.by_modified, [r for r in ranges if r is not None])
        fully_covered = not request.query and all(r is not None and r[2] for r in ranges)
        if fully_covered and sort_by_modified:
            return _page_from_spans(index, spans, request.after, window_end, request.descending)
        candidates = (index.record_at(key) for start, stop in spans for key in index.by_modified[start:stop])
        found = [record for record in candidates if matches(record)]
        if sort_by_modified:
            if request.descending:
                found.reverse()
            return len(found), found[request.after : window_end]
    elif request.sort_property == "hs_object_id" and (bounds := _id_bounds(request.groups)) is not None:
        # Ranges of ids read in id order (e.g. a full load split by id): only the ids in range are looked at.
        ids = index.ids_in_order()
        found = [
            index.docs[record_id]
            for low, high in bounds
            for record_id in ids[bisect_left(ids, low) : bisect_right(ids, high)]
        ]
        only_ids = not request.query and all(
            f["propertyName"] == "hs_object_id" and f["operator"] in _ID_BOUND_OPERATORS
            for group in request.groups
            for f in group
        )
        if not only_ids:
            found = [record for record in found if matches(record)]
        if len(bounds) > 1:
            found = sorted({record.id: record for record in found}.values(), key=lambda r: r.id)
        if request.descending:
            found.reverse()
        return len(found), found[request.after : window_end]
    else:
        found = [record for record in index.docs.values() if matches(record)]
    page = _first_sorted(table, found, request.sort_property, request.descending, window_end)
    return len(found), page[request.after : window_end]


def _page_from_spans(
    index: SearchIndex, spans: list[tuple[int, int]], after: int, window_end: int, descending: bool
) -> tuple[int, list[Record]]:
    total = sum(stop - start for start, stop in spans)
    wanted = range(after, min(window_end, total))
    ordered = list(reversed(spans)) if descending else spans
    page: list[Record] = []
    skipped = 0
    for start, stop in ordered:
        length = stop - start
        if skipped + length <= wanted.start:
            skipped += length
            continue
        first = max(wanted.start - skipped, 0)
        last = min(wanted.stop - skipped, length)
        if descending:
            positions = range(stop - 1 - first, stop - 1 - last, -1)
        else:
            positions = range(start + first, start + last)
        page.extend(index.record_at(index.by_modified[p]) for p in positions)
        skipped += length
        if skipped >= wanted.stop:
            break
    return total, page


def _first_sorted(
    table: ObjectTable, records: list[Record], sort_property: str | None, descending: bool, count: int
) -> list[Record]:
    """The first `count` records in the requested order; equal values keep the index's tie order."""
    tie = table.search.tie_rank
    if sort_property is None:
        # HubSpot's default order is oldest-created first.
        return heapq.nsmallest(count, records, key=lambda r: (r.created_ms, tie(r.id)))
    getter, _ = typed_getter(table, sort_property)
    present = [r for r in records if getter(r) is not None]
    pick = heapq.nlargest if descending else heapq.nsmallest
    first = pick(count, present, key=lambda r: (getter(r), tie(r.id)))
    if len(first) < count:
        missing = [r for r in records if getter(r) is None]
        first.extend(heapq.nsmallest(count - len(first), missing, key=lambda r: tie(r.id)))
    return first


def _text_predicate(table: ObjectTable, query: str) -> Callable[[Record], bool]:
    needle = query.lower().strip("*")
    names = table.object_type.text_search_properties
    return lambda r: any(needle in (r.props.get(name) or "").lower() for name in names)
