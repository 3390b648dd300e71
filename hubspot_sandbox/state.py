"""The sandbox's whole state (one HubSpot account) and the operations that span several of its parts.

Route handlers parse HTTP and call in here; this module knows nothing of HTTP beyond raising ApiError.
"""

from __future__ import annotations

from typing import Any

from hubspot_sandbox.associations import TYPES_BY_ID, AssociationStore
from hubspot_sandbox.clock import DAY_MS, now_ms
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
        # HubSpot answers 414 to very long URLs (long `properties` lists); its exact limit is undocumented.
        self.max_url_bytes = DEFAULT_MAX_URL_BYTES
        # A refused batch write names its offending inputs; off, its 400 names only properties (routes_batch).
        self.batch_errors_name_inputs = True
        # HubSpot's list pages come in id order, as observed (not documented); reversed, each page's
        # records come highest id first, for clients that must not rely on the order.
        self.list_pages_reversed = False
        # Most records one seed request may create (--max-seed-total); None: the seed module's own limit.
        self.max_seed_total: int | None = None
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
        self.max_url_bytes = DEFAULT_MAX_URL_BYTES
        self.batch_errors_name_inputs = True
        self.list_pages_reversed = False
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
        """Merge two records into a new one with a new id, as HubSpot does: both old ids resolve to it,
        the primary's values win and the other's fill the gaps, and associations of both move to it."""
        if not table.object_type.mergeable:
            raise not_found(f"Merging is not supported for {table.object_type.name}.")
        primary = self.require(table, str(primary_raw))
        merged = self.require(table, str(merged_raw))
        if primary.id == merged.id:
            raise validation_error("Cannot merge a record into itself.")
        name = table.object_type.name
        survivor_id = self.next_id()
        table.remove_merged(primary.id, survivor_id)
        table.remove_merged(merged.id, survivor_id)
        survivor = primary.replaced(primary.props, primary.updated_ms)
        survivor.id = survivor_id
        survivor.created_ms = min(primary.created_ms, merged.created_ms)  # the older record's creation
        table.insert(survivor)
        self.associations.move(name, primary.id, survivor_id)
        self.associations.move(name, merged.id, survivor_id, secondary=True)
        return table.update(survivor_id, _merged_values(name, primary, merged), now_ms())

    def gdpr_delete(self, table: ObjectTable, raw_id: Any, id_property: str | None) -> None:
        """Delete a contact for good, from the archive too, with its associations. An email that finds no
        contact is accepted (HubSpot blocklists it; the sandbox does not emulate the blocklist)."""
        if table.object_type.name != "contacts":
            raise not_found(f"Permanent deletion is not supported for {table.object_type.name}.")
        record = table.find(str(raw_id), id_property) or table.find(str(raw_id), id_property, archived=True)
        if record is None and id_property == "email":  # the unique index holds live contacts only
            email = str(raw_id).strip().lower()
            archived = table.archived.values()
            record = next((r for r in archived if r.props.get("email", "").lower() == email), None)
            if record is None:
                return
        if record is None:
            raise not_found(
                f"Object not found. contact {raw_id} does not exist.", context={"id": [str(raw_id)]}
            )
        self.purge(table, {record.id})

    def purge_archived(self, older_than_days: float, now: int) -> dict[str, int]:
        """Empty the recycle bin of records archived `older_than_days` ago or earlier, as HubSpot does 90
        days after archiving; returns how many went per object type."""
        cutoff_ms = now - int(older_than_days * DAY_MS)
        counts = {}
        for name, table in self.tables.items():
            due = {
                record.id
                for record in table.archived.values()
                if record.archived_ms is not None and record.archived_ms <= cutoff_ms
            }
            counts[name] = len(self.purge(table, due))
        return counts

    def purge(self, table: ObjectTable, record_ids: set[int]) -> set[int]:
        removed = table.purge(record_ids)
        for record_id in removed:
            self.associations.forget(table.object_type.name, record_id)
        return removed


def _merged_values(type_name: str, primary: Record, merged: Record) -> dict[str, str]:
    """What a merge writes onto the copy of the primary: the other record's values where the primary has
    none, the merged-away ids (accumulated over earlier merges) and, for contacts, the other's emails."""
    values = {name: value for name, value in merged.props.items() if name not in primary.props}
    merged_ids = _listed(primary, "hs_merged_object_ids") | _listed(merged, "hs_merged_object_ids")
    merged_ids |= {str(primary.id), str(merged.id)}
    values["hs_merged_object_ids"] = ";".join(sorted(merged_ids, key=int))
    if type_name == "contacts":
        emails = _listed(primary, "hs_additional_emails") | _listed(merged, "hs_additional_emails")
        emails.update(filter(None, [merged.props.get("email")]))
        if emails:
            values["hs_additional_emails"] = ";".join(sorted(emails))
    return values


def _listed(record: Record, name: str) -> set[str]:
    return set(filter(None, record.props.get(name, "").split(";")))


def describe_config(sandbox: Sandbox) -> dict[str, Any]:
    limits = sandbox.search_limits
    return {
        "searchLagMs": sandbox.search_lag_ms,
        "searchLagJitterMs": sandbox.search_lag_jitter_ms,
        "maxUrlBytes": sandbox.max_url_bytes,
        "batchErrorsNameInputs": sandbox.batch_errors_name_inputs,
        "listPageOrder": "reversed" if sandbox.list_pages_reversed else "id",
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
        if "maxUrlBytes" in body:
            sandbox.max_url_bytes = int(body["maxUrlBytes"])
        if "batchErrorsNameInputs" in body:
            sandbox.batch_errors_name_inputs = bool(body["batchErrorsNameInputs"])
        if "listPageOrder" in body:
            if body["listPageOrder"] not in ("id", "reversed"):
                raise ValueError(f"listPageOrder must be 'id' or 'reversed', not {body['listPageOrder']!r}")
            sandbox.list_pages_reversed = body["listPageOrder"] == "reversed"
        limits = sandbox.search_limits
        limits.max_groups = int(body.get("searchFilterGroupsMax", limits.max_groups))
        limits.max_filters_per_group = int(body.get("searchFiltersPerGroupMax", limits.max_filters_per_group))
        limits.max_filters_total = int(body.get("searchFiltersMax", limits.max_filters_total))
    except (TypeError, ValueError) as problem:
        raise ApiError(400, "VALIDATION_ERROR", f"Invalid sandbox config: {problem}") from None
