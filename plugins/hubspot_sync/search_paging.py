"""Reading every record changed in a time window through CRM search, each exactly once.

CRM search pages by offset, caps any query at 10,000 results, allows one sort, and its result
set moves while it is read (a record modified during the run leaves the window; a late-indexed
one joins it). Offsets alone would then skip records silently. So:

- results are sorted by last-modified ascending, and the window's `total` is watched: when it
  changes, or before the 10,000 cap, the query restarts from the newest last-modified value
  already yielded (inclusive, skipping the ids already yielded at that exact millisecond);
- when more records share one millisecond than fit on a page (a bulk import or bulk update),
  that millisecond is read on its own, sorted by `hs_object_id` and paged by id (keyset), so
  25,000 records sharing a timestamp are read once each and no loop can form. Inside a
  millisecond the order of a last-modified sort is unspecified (not the id order), which is
  why only the id-sorted reading pages by id;
- a search body may hold at most 3,000 characters. When the wanted property list would not fit
  in the longest body this sends, search asks only for the last-modified property
  (`whole_records` is then False) and the caller reads the records by id (batch read): paging
  needs nothing but ids and last-modified times, and a batch read returns each record whole, one
  consistent version.

Pure: the search call is injected, so this is tested without a server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hubspot_sync.values import InvalidValue, epoch_ms, parse_datetime

Search = Callable[[dict[str, Any]], dict[str, Any]]
MAX_RESTARTS = 10_000
MAX_BODY_CHARS = 3_000
# The longest values a body carries: epoch milliseconds, an id, an offset below the 10,000 cap.
_LONGEST_MS, _LONGEST_ID, _LONGEST_AFTER = str(10**13 - 1), str(10**19 - 1), "9999"


class SearchPagingError(RuntimeError):
    """The window could not be read to the end (the account changes faster than it can be read)."""


@dataclass
class SearchStats:
    requests: int = 0
    restarts: int = 0
    tie_pages: int = 0
    duplicates_skipped: int = 0


@dataclass
class ChangedRecords:
    """Pages of records whose last-modified time lies in [start_ms, end_ms), oldest first."""

    search: Search
    last_modified_property: str
    start_ms: int
    end_ms: int
    properties: list[str]
    page_size: int = 200
    result_cap: int = 10_000
    max_body_chars: int = MAX_BODY_CHARS
    stats: SearchStats = field(default_factory=SearchStats)

    def __post_init__(self) -> None:
        self.whole_records = self._longest_body(self.properties) <= self.max_body_chars
        self.search_properties = self.properties if self.whole_records else [self.last_modified_property]
        self._lower_ms = self.start_ms
        self._lower_inclusive = True
        self._seen_at_lower: set[str] = set()
        self._last_ms: int | None = None  # newest last-modified yielded so far
        self._ids_at_last: set[str] = set()

    @property
    def newest_ms(self) -> int | None:
        """The newest last-modified time yielded so far (pages come oldest first)."""
        return self._last_ms

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        after = 0
        expected_total: int | None = None
        previous_tail_ms: int | None = None
        while True:
            response = self._search(self._window_filters(), self.last_modified_property, after)
            total = int(response.get("total") or 0)
            results = response.get("results") or []
            if expected_total is not None and total != expected_total:
                # The window changed under offset paging: resume from what was yielded instead.
                after, expected_total, previous_tail_ms = self._restart(), None, None
                continue
            expected_total = total
            page = self._unseen(results)
            if page:
                yield page
            next_after = ((response.get("paging") or {}).get("next") or {}).get("after")
            if not next_after or not results:
                return
            page_ms = {self._modified_ms(record) for record in results}
            if len(page_ms) == 1 and previous_tail_ms is not None and page_ms == {previous_tail_ms}:
                yield from self._read_one_millisecond(previous_tail_ms)
                after, expected_total, previous_tail_ms = 0, None, None
                continue
            previous_tail_ms = self._modified_ms(results[-1])
            after = int(next_after)
            if after + self.page_size > self.result_cap:
                after, expected_total, previous_tail_ms = self._restart(), None, None

    # -- paging states -------------------------------------------------------------------------

    def _restart(self) -> int:
        self.stats.restarts += 1
        if self.stats.restarts > MAX_RESTARTS:
            raise SearchPagingError(
                f"gave up after {MAX_RESTARTS} restarts of a search window: records keep changing faster "
                "than they can be read; run again later or narrow the window with the `since` param"
            )
        if self._last_ms is not None:
            self._lower_ms, self._lower_inclusive = self._last_ms, True
            self._seen_at_lower = set(self._ids_at_last)
        return 0

    def _read_one_millisecond(self, moment_ms: int) -> Iterator[list[dict[str, Any]]]:
        """Every record modified at exactly `moment_ms`, by ascending id; then move past it."""
        seen = set(self._ids_at_last) if self._last_ms == moment_ms else set()
        last_id = 0
        while True:
            filters = [
                {"propertyName": self.last_modified_property, "operator": "EQ", "value": str(moment_ms)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
            ]
            response = self._search(filters, "hs_object_id", 0)
            self.stats.tie_pages += 1
            results = response.get("results") or []
            page = [record for record in results if str(record.get("id")) not in seen]
            self.stats.duplicates_skipped += len(results) - len(page)
            for record in page:
                self._track(record)
            if page:
                yield page
            if len(results) < self.page_size:
                break
            last_id = int(results[-1]["id"])
        self._lower_ms, self._lower_inclusive, self._seen_at_lower = moment_ms, False, set()

    # -- helpers -------------------------------------------------------------------------------

    def _window_filters(self) -> list[dict[str, str]]:
        lower_operator = "GTE" if self._lower_inclusive else "GT"
        return [
            {
                "propertyName": self.last_modified_property,
                "operator": lower_operator,
                "value": str(self._lower_ms),
            },
            {"propertyName": self.last_modified_property, "operator": "LT", "value": str(self.end_ms)},
        ]

    def _search(self, filters: list[dict[str, str]], sort_property: str, after: int) -> dict[str, Any]:
        self.stats.requests += 1
        return self.search(self._body(filters, sort_property, str(after), self.search_properties))

    def _body(
        self, filters: list[dict[str, str]], sort_property: str, after: str, properties: list[str]
    ) -> dict[str, Any]:
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort_property, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": self.page_size,
            "after": after,
        }

    def _longest_body(self, properties: list[str]) -> int:
        """Characters of the longest body this pager can send with `properties`, serialised as the
        HubSpot SDK does (json.dumps with its default separators)."""
        modified = self.last_modified_property
        window = [
            {"propertyName": modified, "operator": "GTE", "value": _LONGEST_MS},
            {"propertyName": modified, "operator": "LT", "value": _LONGEST_MS},
        ]
        one_millisecond = [
            {"propertyName": modified, "operator": "EQ", "value": _LONGEST_MS},
            {"propertyName": "hs_object_id", "operator": "GT", "value": _LONGEST_ID},
        ]
        bodies = [
            self._body(window, modified, _LONGEST_AFTER, properties),
            self._body(one_millisecond, "hs_object_id", "0", properties),
        ]
        return max(len(json.dumps(body)) for body in bodies)

    def _unseen(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        page = []
        for record in results:
            already_yielded = self._lower_inclusive and str(record.get("id")) in self._seen_at_lower
            if already_yielded and self._modified_ms(record) == self._lower_ms:
                self.stats.duplicates_skipped += 1
                continue
            page.append(record)
            self._track(record)
        return page

    def _track(self, record: dict[str, Any]) -> None:
        modified = self._modified_ms(record)
        if modified is None:
            return
        if self._last_ms is None or modified > self._last_ms:
            self._last_ms, self._ids_at_last = modified, {str(record.get("id"))}
        elif modified == self._last_ms:
            self._ids_at_last.add(str(record.get("id")))

    def _modified_ms(self, record: dict[str, Any]) -> int | None:
        text = (record.get("properties") or {}).get(self.last_modified_property) or record.get("updatedAt")
        if not text:
            return None
        try:
            return epoch_ms(parse_datetime(str(text).strip()))
        except InvalidValue:
            return None
