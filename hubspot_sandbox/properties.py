"""Property definitions: HubSpot's property shape, and the per-object-type registry of them.

A registry knows which properties exist, their types and options, and which are read-only; it does not know
about record values (``values.py`` validates those, ``records.py`` stores them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.clock import iso_ms
from hubspot_sandbox.errors import ApiError, validation_error

PROPERTY_TYPES = ("string", "number", "bool", "date", "datetime", "enumeration", "phone_number")
FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "booleancheckbox",
    "checkbox",
    "radio",
    "select",
    "date",
    "file",
    "html",
    "phonenumber",
    "calculation_equation",
)
# Which fieldType each type may be shown with; since 2021 the v3 API refuses any other pair with a 400.
# https://developers.hubspot.com/docs/api/crm/properties#property-type-and-fieldtype-values
# https://developers.hubspot.com/changelog/crm-object-property-validattion
VALID_FIELD_TYPES: dict[str, frozenset[str]] = {
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
    "enumeration": frozenset({"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "string": frozenset({"file", "text", "textarea", "calculation_equation", "html", "phonenumber"}),
    "number": frozenset({"number", "calculation_equation"}),
    "phone_number": frozenset({"phonenumber"}),
}
# Properties the sandbox computes itself (never stored on a record, never writable).
DERIVED_PROPERTIES = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"})


@dataclass
class Option:
    label: str
    value: str
    display_order: int = 0
    hidden: bool = False
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
            "description": self.description,
        }


@dataclass
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[Option] = field(default_factory=list)
    calculated: bool = False
    has_unique_value: bool = False
    hidden: bool = False
    hubspot_defined: bool = True
    read_only_value: bool = False
    display_order: int = -1
    created_ms: int = 0
    updated_ms: int = 0
    archived_ms: int | None = None

    @property
    def is_multi_select(self) -> bool:
        return self.type == "enumeration" and self.field_type == "checkbox"

    @property
    def option_values(self) -> frozenset[str]:
        return frozenset(option.value for option in self.options)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group_name,
            "description": self.description,
            "options": [option.to_json() for option in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "formField": not self.read_only_value,
            "modificationMetadata": {
                "readOnlyValue": self.read_only_value,
                "readOnlyDefinition": self.hubspot_defined,
                "archivable": not self.hubspot_defined,
            },
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": self.archived_ms is not None,
        }
        if self.archived_ms is not None:
            body["archivedAt"] = iso_ms(self.archived_ms)
        return body


def options_from_json(raw: Any) -> list[Option]:
    if not isinstance(raw, list):
        raise validation_error("Invalid input JSON: `options` must be an array")
    options = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise validation_error(f"Invalid input JSON: options[{index}] needs a string `value` and `label`")
        options.append(
            Option(
                label=str(item.get("label", item["value"])),
                value=item["value"],
                display_order=int(item.get("displayOrder", index)),
                hidden=bool(item.get("hidden", False)),
                description=str(item.get("description", "")),
            )
        )
    return options


class PropertyRegistry:
    """The properties of one object type, live and archived, as the Properties API exposes them."""

    def __init__(self, definitions: list[PropertyDef]) -> None:
        self.live: dict[str, PropertyDef] = {d.name: d for d in definitions}
        self.archived: dict[str, PropertyDef] = {}

    def get(self, name: str) -> PropertyDef | None:
        return self.live.get(name)

    def require(self, name: str) -> PropertyDef:
        definition = self.live.get(name)
        if definition is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property with name {name}")
        return definition

    def unique_names(self) -> list[str]:
        return [d.name for d in self.live.values() if d.has_unique_value]

    def create(self, body: dict[str, Any], now: int) -> PropertyDef:
        name = body.get("name")
        for key in ("name", "label", "type", "fieldType", "groupName"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise validation_error(f"Invalid input JSON: `{key}` is required and must be a string")
        assert isinstance(name, str)
        if name in self.live:
            raise ApiError(409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists.")
        self._check_type(body["type"], body["fieldType"])
        definition = PropertyDef(
            name=name,
            label=body["label"],
            type=body["type"],
            field_type=body["fieldType"],
            group_name=body["groupName"],
            description=str(body.get("description", "")),
            options=options_from_json(body.get("options", [])),
            has_unique_value=bool(body.get("hasUniqueValue", False)),
            hidden=bool(body.get("hidden", False)),
            hubspot_defined=False,
            display_order=int(body.get("displayOrder", -1)),
            created_ms=now,
            updated_ms=now,
        )
        if (
            definition.type == "enumeration"
            and not definition.options
            and definition.field_type != "checkbox"
        ):
            raise validation_error("Enumeration properties need at least one option.")
        self.archived.pop(name, None)
        self.live[name] = definition
        return definition

    def update(self, name: str, body: dict[str, Any], now: int) -> PropertyDef:
        definition = self.require(name)
        if definition.hubspot_defined and set(body) - {
            "label",
            "description",
            "options",
            "displayOrder",
            "hidden",
        }:
            raise validation_error(
                f"Property {name} is HubSpot-defined: only its label, options and display can change."
            )
        new_type = body.get("type", definition.type)
        new_field_type = body.get("fieldType", definition.field_type)
        self._check_type(new_type, new_field_type)
        definition.type = new_type
        definition.field_type = new_field_type
        if "label" in body:
            definition.label = str(body["label"])
        if "description" in body:
            definition.description = str(body["description"])
        if "groupName" in body:
            definition.group_name = str(body["groupName"])
        if "options" in body:
            definition.options = options_from_json(body["options"])
        if "hidden" in body:
            definition.hidden = bool(body["hidden"])
        if "displayOrder" in body:
            definition.display_order = int(body["displayOrder"])
        definition.updated_ms = now
        return definition

    def archive(self, name: str, now: int) -> None:
        definition = self.require(name)
        if definition.hubspot_defined:
            raise validation_error(f"Property {name} is HubSpot-defined and cannot be archived.")
        definition.archived_ms = now
        self.archived[name] = self.live.pop(name)

    @staticmethod
    def _check_type(type_name: Any, field_type: Any) -> None:
        if type_name not in PROPERTY_TYPES:
            raise validation_error(
                f"Invalid property type {type_name!r}; expected one of {list(PROPERTY_TYPES)}"
            )
        if field_type not in FIELD_TYPES:
            raise validation_error(f"Invalid fieldType {field_type!r}; expected one of {list(FIELD_TYPES)}")
        valid = VALID_FIELD_TYPES[type_name]
        if field_type not in valid:
            raise validation_error(
                f"Property type {type_name} is not compatible with fieldType {field_type}; "
                f"a {type_name} property takes fieldType {sorted(valid)}"
            )
