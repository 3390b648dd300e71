"""Is this deployment ready for its first run? Checked without writing anything, each problem stated
with exactly what to create or change (`python -m hubspot_sync preflight`):

- the warehouse connection opens, and each enabled model's query runs (its source tables exist and it
  returns the key and mapped columns), checked with `LIMIT 0`;
- the HubSpot token is valid and holds the scopes: for each enabled object type, one property read
  (crm.schemas.*.read) and a one-record page (crm.objects.*.read); for each object type a model or a
  two-way field writes, an empty batch update (crm.objects.*.write: HubSpot checks the scope before the
  body; it writes nothing);
- every property a model writes exists, is writable, has the declared type and options, and a key
  property has unique values; every two-way field exists and is writable.

`python -m hubspot_sync create-properties [--apply]` creates the missing custom properties, typed by
the model's `property_definitions:` or else by its query column's PostgreSQL type.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hubspot_sync.config import SyncConfig
from hubspot_sync.hooks.hubspot import HubSpotAuthError, HubSpotError, HubSpotHook, HubSpotRequestError
from hubspot_sync.hooks.warehouse import WarehouseConnectionError, WarehouseHook
from hubspot_sync.reverse_etl.model_config import RECORD_ID, ReverseEtlModel
from hubspot_sync.reverse_etl.store import ModelError, source_columns
from hubspot_sync.reverse_etl.values import PropertyDefinition

# PostgreSQL result types (pg_type names) -> the HubSpot property type that holds their values.
PG_TO_HUBSPOT = {
    **dict.fromkeys(("int2", "int4", "int8", "numeric", "float4", "float8"), "number"),
    **dict.fromkeys(("timestamptz", "timestamp"), "datetime"),
    "date": "date",
    "bool": "bool",
    **dict.fromkeys(("text", "varchar", "bpchar", "name"), "string"),
}
FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}
GROUPS = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
    "tickets": "ticketinformation",
    "line_items": "lineiteminformation",
}
CREATE_HINT = "python -m hubspot_sync create-properties"


@dataclass
class Report:
    """What passed and what to fix, in the order checked; `create` holds the properties to create."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    create: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (object type, body)
    undetermined: list[str] = field(default_factory=list)  # missing properties of no known type


def preflight(config: SyncConfig, hubspot: HubSpotHook, warehouse: WarehouseHook) -> Report:
    report = Report()
    columns = _check_warehouse(config, warehouse, report)
    definitions = _check_hubspot(config, hubspot, report)
    if definitions is not None:
        for name in config.model_names():
            if name in config.models:
                _check_properties(name, config.models[name], definitions, columns.get(name, {}), report)
        for object_type, fields in two_way_fields(config).items():
            _check_two_way(object_type, fields, definitions.get(object_type), report)
    for name in config.model_names():
        if name in config.broken_models:
            report.problems.append(config.broken_models[name].message)
    return report


def _check_warehouse(
    config: SyncConfig, warehouse: WarehouseHook, report: Report
) -> dict[str, dict[str, str]]:
    """Each model's result columns and their PostgreSQL types, for the models whose query runs."""
    try:
        conn = warehouse.connect()
    except WarehouseConnectionError as error:
        report.problems.append(f"warehouse: {error}")
        return {}
    columns = {}
    with conn:
        report.passed.append(f"warehouse: connection '{config.connections.postgres}' opens")
        for name in config.model_names():
            if name not in config.models:
                continue
            try:
                columns[name] = source_columns(conn, name, config.models[name])
                report.passed.append(f"model {name}: its query runs and returns the mapped columns")
            except ModelError as error:
                report.problems.append(str(error))
    return columns


def _check_hubspot(
    config: SyncConfig, hubspot: HubSpotHook, report: Report
) -> dict[str, dict[str, PropertyDefinition]] | None:
    """Property definitions per object type read or written; None when HubSpot cannot be used at all."""
    written = {model.object_type for name, model in config.models.items() if name in config.model_names()}
    written |= set(two_way_fields(config))
    definitions: dict[str, dict[str, PropertyDefinition]] = {}
    missing_scopes: list[str] = []
    try:
        for object_type in [*config.enabled_objects(), *sorted(written - set(config.enabled_objects()))]:
            raw = _scoped(missing_scopes, partial(hubspot.get_properties, object_type))
            if raw is not None:
                live = [PropertyDefinition.from_api(item) for item in raw if not item.get("archived")]
                definitions[object_type] = {definition.name: definition for definition in live}
            if object_type in config.enabled_objects():
                _scoped(missing_scopes, lambda t=object_type: next(hubspot.iter_list_pages(t, [], limit=1)))
            if object_type in written:
                _scoped(missing_scopes, partial(_probe_write, hubspot, object_type))
    except HubSpotAuthError as error:  # not a scope: the token itself is refused
        report.problems.append(f"HubSpot: {error}")
        return None
    except HubSpotError as error:
        report.problems.append(f"HubSpot: cannot be reached or refuses the checks: {error}")
        return None
    report.passed.append(f"HubSpot: the token of connection '{config.connections.hubspot}' is valid")
    if missing_scopes:
        report.problems.append(
            f"HubSpot: the private app lacks the scopes {', '.join(missing_scopes)}: add them in Settings > "
            "Integrations > Private apps, then update the token in the connection if HubSpot rotates it"
        )
    else:
        report.passed.append("HubSpot: the token holds every scope the enabled objects and models need")
    return definitions


def _scoped(missing: list[str], call) -> Any:
    """The call's result; None when it is refused for a missing scope (noted once in `missing`)."""
    try:
        return call()
    except HubSpotAuthError as error:
        if error.status != 403 or not error.missing_scopes:
            raise
        scope = " or ".join(error.missing_scopes)
        if scope not in missing:
            missing.append(scope)
        return None


def _probe_write(hubspot: HubSpotHook, object_type: str) -> None:
    # An empty batch may be refused as invalid: the scope was there all the same, nothing was written.
    with contextlib.suppress(HubSpotRequestError):
        hubspot.batch_write(object_type, "update", [])


def two_way_fields(config: SyncConfig) -> dict[str, list[str]]:
    """The two-way fields hubspot_writeback writes, per enabled object type that has any."""
    objects = {name: list(config.objects[name].two_way.fields) for name in config.enabled_objects()}
    return {name: fields for name, fields in objects.items() if fields}


def _check_two_way(
    object_type: str, fields: list[str], live: dict[str, PropertyDefinition] | None, report: Report
) -> None:
    if live is None:
        return  # its scope is missing: reported once above
    missing = [name for name in fields if name not in live]
    read_only = [name for name in fields if name in live and not live[name].writable]
    where = f"two-way fields of {object_type}"
    if missing:
        report.problems.append(f"{where}: {', '.join(missing)} do not exist in HubSpot: create them there")
    if read_only:
        report.problems.append(f"{where}: {', '.join(read_only)} are read-only or calculated in HubSpot")
    if not missing and not read_only:
        report.passed.append(f"{where}: {', '.join(fields)} exist and are writable")


def _check_properties(
    name: str,
    model: ReverseEtlModel,
    definitions: dict[str, dict[str, PropertyDefinition]],
    columns: dict[str, str],
    report: Report,
) -> None:
    live = definitions.get(model.object_type)
    if live is None:
        return  # its scope is missing: reported once above
    problems = []
    key = live.get(model.key.property)
    if model.key.property != RECORD_ID and (key is None or not key.unique):
        problems.append(f"key property {model.key.property} is not a property with unique values in HubSpot")
    for column, prop in model.properties.items():
        spec = model.property_definitions.get(prop)
        if prop not in live:
            body = property_body(model.object_type, prop, spec, columns.get(column))
            if body is None:
                report.undetermined.append(f"{model.object_type}.{prop}")
                problems.append(
                    f"property {prop} does not exist on {model.object_type}, and its type is unknown (the "
                    f"query does not run, or column {column} is of a type HubSpot has no match for): declare "
                    f"it under models.{name}.property_definitions, then run {CREATE_HINT}"
                )
            else:
                if (model.object_type, body) not in report.create:
                    report.create.append((model.object_type, body))
                problems.append(
                    f"property {prop} does not exist on {model.object_type}: `{CREATE_HINT} --apply` creates "
                    f"it as {describe(body)}"
                )
        elif not live[prop].writable:
            problems.append(f"column {column} maps to property {prop}, which is read-only or calculated")
        elif spec is not None:
            have = live[prop]
            if have.type != spec.type:
                problems.append(f"property {prop} is of type {have.type} in HubSpot, declared {spec.type}")
            lacking = [option for option in spec.options if option not in have.options]
            if lacking:
                problems.append(
                    f"property {prop} lacks the options {', '.join(lacking)}: add them in HubSpot "
                    f"(Settings > Properties > {model.object_type} > {prop})"
                )
    where = f"model {name} ({model.object_type})"
    if problems:
        report.problems += [f"{where}: {problem}" for problem in problems]
    else:
        report.passed.append(f"{where}: every property it writes exists and is writable")


def property_body(
    object_type: str, prop: str, spec: Any | None, pg_type: str | None
) -> dict[str, Any] | None:
    """The POST /crm/v3/properties/{objectType} body for a missing property; None: type unknown."""
    kind = spec.type if spec is not None else PG_TO_HUBSPOT.get(pg_type or "")
    if kind is None:
        return None
    body: dict[str, Any] = {
        "name": prop,
        "label": spec.label if spec is not None and spec.label else _label(prop),
        "type": kind,
        "fieldType": FIELD_TYPES[kind],
        "groupName": (spec.group if spec is not None and spec.group else GROUPS[object_type]),
    }
    values = list(spec.options) if spec is not None else []
    if kind == "bool":
        values = ["true", "false"]
    if values:
        body["options"] = [
            {"label": _label(value), "value": value, "displayOrder": order, "hidden": False}
            for order, value in enumerate(values)
        ]
    return body


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def describe(body: dict[str, Any]) -> str:
    text = f"{body['type']} ({body['fieldType']}) in group {body['groupName']}"
    if body.get("options"):
        text += " with options " + ", ".join(option["value"] for option in body["options"])
    return text


def create_properties(hubspot: HubSpotHook, report: Report) -> list[str]:
    """Create the properties `report` found missing; returns one line per property created."""
    created = []
    for object_type, body in report.create:
        core = hubspot.client.crm.properties.core_api
        hubspot.request("properties.create", "standard", partial(core.create, object_type, body))
        created.append(f"created {object_type}.{body['name']}: {describe(body)}")
    return created
