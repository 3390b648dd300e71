"""The sandbox's whole state (one HubSpot account) and the operations that span several of its parts.

Route handlers parse HTTP and call in here; this module knows nothing of HTTP beyond raising ApiError.
"""

from __future__ import annotations

from typing import Any

from hubspot_sandbox.associations import TYPES_BY_ID, AssociationStore
from hubspot_sandbox.clock import now_ms
from hubspot_sandbox.errors import ApiError, not_found, validation_error
from hubspot_sandbox.faults import FaultInjector
from hubspot_sandbox.limits import RateLimiter
from hubspot_sandbox.object_types import OBJECT_TYPES, resolve_object_type
from hubspot_sandbox.properties import PropertyRegistry
from hubspot_sandbox.property_catalog import CATALOG
from hubspot_sandbox.records import ObjectTable, Record, parse_id
from hubspot_sandbox.search import SearchLimits
from hubspot_sandbox.search_index import SearchIndex
from hubspot_sandbox.stats import RequestStats

FIRST_ID = 1001
DEFAULT_MAX_URL_BYTES = 8192


class Sandbox:
    def __init__(self, token: str, rate_limit: str = "off", search_lag_ms: int = 0) -> None:
        self.token = token
        self.limiter = RateLimiter(rate_limit)
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self.search_limits = SearchLimits()
        self.search_lag_ms = search_lag_ms
        self.search_lag_jitter_ms = 0  # each write waits lag + a random share of this (set_search_lag)
        # HubSpot may give the survivor of a merge a new id; off by default, settable via /_sandbox/config.
        self.merge_assigns_new_id = False
        # HubSpot answers 414 to very long URLs (long `properties` lists); its exact limit is undocumented.
        self.max_url_bytes = DEFAULT_MAX_URL_BYTES
        # A refused batch write names its offending inputs; off, its 400 names only properties (routes_batch).
        self.batch_errors_name_inputs = True
        self.tables: dict[str, ObjectTable] = {}
        self.associations = AssociationStore()
        self._next_id = FIRST_ID
        self.reset_data()

    # ---- lifecycle
    def reset_data(self) -> None:
        self.tables = {
            name: ObjectTable(
                object_type,
                PropertyRegistry(CATALOG[name]()),
                SearchIndex(self.search_lag_ms, self.search_lag_jitter_ms),
            )
            for name, object_type in OBJECT_TYPES.items()
        }
        self.associations.clear()
        self._next_id = FIRST_ID

    def reset(self) -> None:
        """Back to an empty account: data, properties, faults, counters, limit overrides and search caps.
        What the command line chose (token, tier, search lag) stays."""
        self.reset_data()
        self.search_limits = SearchLimits()
        self.merge_assigns_new_id = False
        self.max_url_bytes = DEFAULT_MAX_URL_BYTES
        self.batch_errors_name_inputs = True
        self.faults.clear()
        self.stats.reset()
        self.limiter.reset()

    def set_search_lag(self, lag_ms: int, jitter_ms: int | None = None) -> None:
        """A write becomes searchable `lag_ms` plus a random share of `jitter_ms` after it happened;
        a lag of 0 makes every write searchable at once, whatever the jitter."""
        self.search_lag_ms = max(0, lag_ms)
        if jitter_ms is not None:
            self.search_lag_jitter_ms = max(0, jitter_ms)
        for table in self.tables.values():
            table.search.set_lag(self.search_lag_ms, self.search_lag_jitter_ms)

    def next_id(self) -> int:
        record_id = self._next_id
        self._next_id += 1
        return record_id

    def table(self, object_type: str) -> ObjectTable:
        return self.tables[resolve_object_type(object_type).name]

    # ---- records
    def require(self, table: ObjectTable, raw_id: str | int) -> Record:
        record = table.get(parse_id(raw_id) or 0)
        if record is None:
            raise not_found(
                f"Object not found. {table.object_type.singular} with id {raw_id} does not exist.",
                context={"id": [str(raw_id)]},
            )
        return record

    def create(
        self, table: ObjectTable, values: dict[str, str], associations: list[dict[str, Any]] | None = None
    ) -> Record:
        planned = self.check_associations(table, associations or [])
        record = table.create(self.next_id(), values, now_ms())
        for to_type, to_id, type_ids in planned:
            self.associations.add(table.object_type.name, record.id, to_type, to_id, type_ids)
        return record

    def check_associations(self, table: ObjectTable, raw: Any) -> list[tuple[str, int, set[int]]]:
        """Validate the ``associations`` of a create body: [{"to": {"id"}, "types": [{...}]}]."""
        if not isinstance(raw, list):
            raise validation_error("Invalid input JSON: `associations` must be an array")
        planned = []
        for item in raw:
            to_raw = (
                item.get("to", {}).get("id")
                if isinstance(item, dict) and isinstance(item.get("to"), dict)
                else None
            )
            types = item.get("types") if isinstance(item, dict) else None
            if to_raw is None or not isinstance(types, list) or not types:
                raise validation_error("Invalid input JSON: each association needs `to.id` and `types`")
            type_ids: set[int] = set()
            to_type = None
            for spec in types:
                type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
                if not isinstance(type_id, int):
                    raise validation_error("Invalid input JSON: `associationTypeId` must be an integer")
                from_name = table.object_type.name
                definition = TYPES_BY_ID.get(type_id)
                if definition is None or definition.from_type != from_name:
                    raise validation_error(f"associationTypeId {type_id} cannot start from {from_name}.")
                to_type = definition.to_type
                type_ids.add(type_id)
            assert to_type is not None
            target = self.tables[to_type].get(parse_id(to_raw) or 0)
            if target is None:
                raise validation_error(
                    f"Cannot associate with {to_type} {to_raw}: it does not exist.",
                    context={"id": [str(to_raw)]},
                )
            planned.append((to_type, target.id, type_ids))
        return planned

    def archive(self, table: ObjectTable, raw_id: str | int) -> bool:
        record_id = parse_id(raw_id)
        return record_id is not None and table.archive(record_id, now_ms())

    def merge(self, table: ObjectTable, primary_raw: Any, merged_raw: Any) -> Record:
        if not table.object_type.mergeable:
            raise not_found(f"Merging is not supported for {table.object_type.name}.")
        primary = self.require(table, str(primary_raw))
        merged = self.require(table, str(merged_raw))
        if primary.id == merged.id:
            raise validation_error("Cannot merge a record into itself.")
        now = now_ms()
        merged_ids = _id_set(primary) | _id_set(merged) | {str(merged.id)}
        values = {k: v for k, v in merged.props.items() if k not in primary.props}
        values.update(primary.props)
        if table.object_type.name == "contacts" and merged.props.get("email"):
            extra = set(filter(None, values.get("hs_additional_emails", "").split(";")))
            extra.add(merged.props["email"])
            values["hs_additional_emails"] = ";".join(sorted(extra))
        table.remove_merged(merged.id, primary.id)
        self.associations.move(table.object_type.name, merged.id, primary.id)
        survivor_id = primary.id
        if self.merge_assigns_new_id:
            survivor_id = self.next_id()
            merged_ids.add(str(primary.id))
            current = table.live[primary.id]
            table.remove_merged(primary.id, survivor_id)
            table.insert(
                Record(
                    survivor_id, current.created_ms, now, dict(current.props), current.source, current.history
                )
            )
            self.associations.move(table.object_type.name, primary.id, survivor_id)
        values["hs_merged_object_ids"] = ";".join(sorted(merged_ids, key=int))
        return table.update(survivor_id, values, now)


def _id_set(record: Record) -> set[str]:
    return set(filter(None, record.props.get("hs_merged_object_ids", "").split(";")))


def describe_config(sandbox: Sandbox) -> dict[str, Any]:
    limits = sandbox.search_limits
    return {
        "searchLagMs": sandbox.search_lag_ms,
        "searchLagJitterMs": sandbox.search_lag_jitter_ms,
        "mergeAssignsNewId": sandbox.merge_assigns_new_id,
        "maxUrlBytes": sandbox.max_url_bytes,
        "batchErrorsNameInputs": sandbox.batch_errors_name_inputs,
        "searchFilterGroupsMax": limits.max_groups,
        "searchFiltersPerGroupMax": limits.max_filters_per_group,
        "searchFiltersMax": limits.max_filters_total,
    }


def apply_config(sandbox: Sandbox, body: dict[str, Any]) -> None:
    try:
        if "searchLagMs" in body or "searchLagJitterMs" in body:
            jitter = body.get("searchLagJitterMs")
            sandbox.set_search_lag(
                int(body.get("searchLagMs", sandbox.search_lag_ms)), None if jitter is None else int(jitter)
            )
        if "mergeAssignsNewId" in body:
            sandbox.merge_assigns_new_id = bool(body["mergeAssignsNewId"])
        if "maxUrlBytes" in body:
            sandbox.max_url_bytes = int(body["maxUrlBytes"])
        if "batchErrorsNameInputs" in body:
            sandbox.batch_errors_name_inputs = bool(body["batchErrorsNameInputs"])
        limits = sandbox.search_limits
        limits.max_groups = int(body.get("searchFilterGroupsMax", limits.max_groups))
        limits.max_filters_per_group = int(body.get("searchFiltersPerGroupMax", limits.max_filters_per_group))
        limits.max_filters_total = int(body.get("searchFiltersMax", limits.max_filters_total))
    except (TypeError, ValueError) as problem:
        raise ApiError(400, "VALIDATION_ERROR", f"Invalid sandbox config: {problem}") from None
