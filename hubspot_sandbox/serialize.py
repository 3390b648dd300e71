"""Records as HubSpot writes them on the wire: every property value a string, timestamps ``.mmmZ``."""

from __future__ import annotations

from typing import Any

from hubspot_sandbox.clock import iso_ms
from hubspot_sandbox.records import ObjectTable, Record


def property_value(table: ObjectTable, record: Record, name: str) -> str | None:
    """A property's wire value, deriving the bookkeeping properties HubSpot computes itself."""
    if name == "hs_object_id":
        return str(record.id)
    if name == "createdate":
        return iso_ms(record.created_ms)
    if name == table.object_type.last_modified_property:
        return iso_ms(record.updated_ms)
    return record.props.get(name)


def selected_properties(table: ObjectTable, requested: list[str] | None) -> list[str]:
    """The names to return: the type's defaults when none are asked for; unknown names are ignored."""
    if not requested:
        return list(table.object_type.default_properties)
    live = table.registry.live
    return [name for name in dict.fromkeys(requested) if name in live]


def record_json(
    table: ObjectTable,
    record: Record,
    names: list[str],
    history_names: list[str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(record.id),
        "properties": {name: property_value(table, record, name) for name in names},
        "createdAt": iso_ms(record.created_ms),
        "updatedAt": iso_ms(record.updated_ms),
        "archived": record.archived_ms is not None,
    }
    if record.archived_ms is not None:
        body["archivedAt"] = iso_ms(record.archived_ms)
    if history_names:
        body["propertiesWithHistory"] = {name: history_json(table, record, name) for name in history_names}
    return body


def history_json(table: ObjectTable, record: Record, name: str) -> list[dict[str, Any]]:
    """A property's values newest first, each with when and by whom it was written, as HubSpot keeps them.

    Only properties written after creation store entries; an untouched one has its creation value as its
    only entry, derived here (a million records keep no history of their own).
    """
    if name in ("hs_object_id", "createdate", table.object_type.last_modified_property):
        value = property_value(table, record, name)
        stamp = record.created_ms if name != table.object_type.last_modified_property else record.updated_ms
        return [{"value": value, "timestamp": iso_ms(stamp), "sourceType": "CALCULATED"}]
    entries = (record.history or {}).get(name)
    if entries:
        return [
            {"value": value, "timestamp": iso_ms(at_ms), **source.history_fields()}
            for value, at_ms, source in entries
        ]
    if name in record.props:
        return [
            {
                "value": record.props[name],
                "timestamp": iso_ms(record.created_ms),
                **record.source.history_fields(),
            }
        ]
    return []
