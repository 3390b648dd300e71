"""The one registry of HubSpot object types and associations: what differs per type is declared here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectType:
    """What the sync needs to know about one CRM object type, independent of configuration."""

    name: str  # path segment of /crm/v3/objects/{name}, and the table name in schema `hubspot`
    last_modified_property: str  # the property CRM search filters and sorts on
    indexed_properties: tuple[str, ...] = ()  # typed columns that get an index when configured
    email_properties: tuple[str, ...] = ()  # values checked for email format


@dataclass(frozen=True)
class AssociationType:
    """One mirrored association table, read from `from_type` records (v4 batch read)."""

    from_type: str
    to_type: str
    table: str
    from_column: str
    to_column: str


OBJECT_TYPES: dict[str, ObjectType] = {
    object_type.name: object_type
    for object_type in (
        ObjectType("companies", "hs_lastmodifieddate", indexed_properties=("domain",)),
        ObjectType(
            "contacts", "lastmodifieddate", indexed_properties=("email",), email_properties=("email",)
        ),
        ObjectType("deals", "hs_lastmodifieddate"),
        ObjectType("tickets", "hs_lastmodifieddate"),
        ObjectType("line_items", "hs_lastmodifieddate"),
    )
}

ASSOCIATION_TYPES: tuple[AssociationType, ...] = (
    AssociationType("contacts", "companies", "contact_company_associations", "contact_id", "company_id"),
    AssociationType("deals", "contacts", "deal_contact_associations", "deal_id", "contact_id"),
    AssociationType("deals", "companies", "deal_company_associations", "deal_id", "company_id"),
)
