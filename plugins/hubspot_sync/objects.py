"""The one registry of HubSpot object types: everything that differs per type is declared here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectType:
    """What the sync needs to know about one CRM object type, independent of configuration."""

    name: str  # path segment of /crm/v3/objects/{name}, and the table name in schema `hubspot`
    last_modified_property: str  # the property CRM search filters and sorts on
    # Object types whose associations are mirrored from this side (this -> other).
    associated_with: tuple[str, ...] = ()


OBJECT_TYPES: dict[str, ObjectType] = {
    object_type.name: object_type
    for object_type in (
        ObjectType("companies", "hs_lastmodifieddate"),
        ObjectType("contacts", "lastmodifieddate", associated_with=("companies",)),
        ObjectType("deals", "hs_lastmodifieddate", associated_with=("contacts", "companies")),
        ObjectType("tickets", "hs_lastmodifieddate", associated_with=("contacts", "companies")),
        ObjectType("line_items", "hs_lastmodifieddate", associated_with=("deals",)),
    )
}
