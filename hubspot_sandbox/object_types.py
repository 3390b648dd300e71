"""The five CRM object types the sandbox serves, and the names HubSpot accepts for each."""

from __future__ import annotations

from dataclasses import dataclass

from hubspot_sandbox.errors import ApiError


@dataclass(frozen=True)
class ObjectType:
    name: str
    singular: str
    type_id: str
    last_modified_property: str
    # Returned when a read names no `properties`, as HubSpot does.
    default_properties: tuple[str, ...]
    # What the free-text `query` of a search looks at.
    text_search_properties: tuple[str, ...]
    mergeable: bool = False


OBJECT_TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "contacts",
            "contact",
            "0-1",
            "lastmodifieddate",
            ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
            ("email", "firstname", "lastname", "phone", "company"),
            mergeable=True,
        ),
        ObjectType(
            "companies",
            "company",
            "0-2",
            "hs_lastmodifieddate",
            ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
            ("name", "domain", "phone", "website"),
            mergeable=True,
        ),
        ObjectType(
            "deals",
            "deal",
            "0-3",
            "hs_lastmodifieddate",
            (
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ),
            ("dealname",),
            mergeable=True,
        ),
        ObjectType(
            "tickets",
            "ticket",
            "0-5",
            "hs_lastmodifieddate",
            (
                "content",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "subject",
            ),
            ("subject", "content"),
            mergeable=True,
        ),
        ObjectType(
            "line_items",
            "line_item",
            "0-8",
            "hs_lastmodifieddate",
            ("createdate", "hs_lastmodifieddate", "hs_object_id", "name", "price", "quantity"),
            ("name", "hs_sku"),
        ),
    )
}

_ALIASES: dict[str, str] = {}
for _t in OBJECT_TYPES.values():
    for _alias in (_t.name, _t.singular, _t.type_id, _t.name.replace("_", ""), _t.singular.replace("_", "")):
        _ALIASES[_alias] = _t.name


def resolve_object_type(name: str) -> ObjectType:
    """The object type HubSpot would infer from a path segment (plural, singular or ``0-1`` style id)."""
    canonical = _ALIASES.get(name.lower())
    if canonical is None:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Unable to infer object type from: {name}",
            context={"objectType": [name]},
        )
    return OBJECT_TYPES[canonical]
