"""CRM v3 batch endpoints: read, create, update, upsert, archive (at most 100 inputs each).

Inputs fail one by one: a failed input becomes an entry of ``errors`` and the answer is a 207, as HubSpot
does; missing ids are grouped into one OBJECT_NOT_FOUND entry listing them. The exception is a duplicate
unique value (a contact email) in a create, which fails the whole batch with a 409 naming the first conflict.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubspot_sandbox.clock import now_ms
from hubspot_sandbox.errors import ApiError, batch_error, validation_error
from hubspot_sandbox.http_util import (
    batch_envelope,
    batch_inputs,
    json_object,
    json_response,
    no_content,
    query_bool,
    sandbox_of,
    string_list,
)
from hubspot_sandbox.records import ObjectTable
from hubspot_sandbox.serialize import record_json, selected_properties
from hubspot_sandbox.values import validate_properties


def _table(request: Request) -> ObjectTable:
    return sandbox_of(request).table(request.path_params["objectType"])


def _input_id(item: Any, index: int) -> str:
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("id"), (str, int))
        or isinstance(item.get("id"), bool)
    ):
        raise validation_error(f"Invalid input JSON: inputs[{index}].id must be a string")
    return str(item["id"])


def _missing_error(table: ObjectTable, missing: list[str]) -> dict[str, Any]:
    return batch_error(
        "OBJECT_NOT_FOUND",
        f"Could not get some {table.object_type.singular.upper()} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        {"ids": missing},
    )


def _failed_input(problem: ApiError, context: dict[str, list[str]]) -> dict[str, Any]:
    return batch_error(problem.category, problem.message, {**(problem.context or {}), **context})


def _respond(results: list[Any], errors: list[dict[str, Any]], started: int, ok_status: int) -> Response:
    body, partial = batch_envelope(results, errors, started)
    return json_response(body, 207 if partial else ok_status)


def _written_names(table: ObjectTable, values: dict[str, str]) -> list[str]:
    return selected_properties(
        table, ["createdate", "hs_object_id", table.object_type.last_modified_property, *values]
    )


async def batch_read(request: Request) -> Response:
    started = now_ms()
    table = _table(request)
    body = await json_object(request)
    inputs = batch_inputs(body)
    names = selected_properties(table, string_list(body, "properties"))
    history = string_list(body, "propertiesWithHistory")
    history_names = selected_properties(table, history) if history else None
    id_property = body.get("idProperty")
    archived = query_bool(request, "archived")
    results, missing = [], []
    for index, item in enumerate(inputs):
        raw_id = _input_id(item, index)
        record = table.find(raw_id, id_property, archived)
        if record is None:
            missing.append(raw_id)
        else:
            results.append(record_json(table, record, names, history_names))
    return _respond(results, [_missing_error(table, missing)] if missing else [], started, 200)


async def batch_create(request: Request) -> Response:
    started = now_ms()
    sandbox = sandbox_of(request)
    table = _table(request)
    inputs = batch_inputs(await json_object(request))
    planned: list[tuple[int, dict[str, str], list[Any]]] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise validation_error(f"Invalid input JSON: inputs[{index}] must be an object")
        try:
            values = validate_properties(table.registry, item.get("properties", {}))
            associations = sandbox.check_associations(table, item.get("associations") or [])
        except ApiError as problem:
            errors.append(_failed_input(problem, {"inputIndex": [str(index)]}))
            continue
        planned.append((index, values, associations))
    _check_unique_within(table, [values for _, values, _ in planned])
    results = []
    for _, values, associations in planned:
        record = table.create(sandbox.next_id(), values, now_ms())
        for to_type, to_id, type_ids in associations:
            sandbox.associations.add(table.object_type.name, record.id, to_type, to_id, type_ids)
        results.append(record_json(table, record, _written_names(table, values)))
    return _respond(results, errors, started, 201)


def _check_unique_within(table: ObjectTable, all_values: list[dict[str, str]]) -> None:
    """Fail the whole batch on the first unique value that exists already or repeats inside it."""
    for name, index in table.unique.items():
        seen: set[str] = set()
        for values in all_values:
            value = values.get(name)
            if not value:
                continue
            key = value.lower() if name == "email" else value
            existing = index.get(key)
            if existing is not None or key in seen:
                detail = f"Existing ID: {existing}" if existing is not None else "Duplicate in this batch"
                label = "Contact" if name == "email" else table.object_type.singular.capitalize()
                raise ApiError(409, "CONFLICT", f"{label} already exists. {detail}")
            seen.add(key)


async def batch_update(request: Request) -> Response:
    started = now_ms()
    table = _table(request)
    inputs = batch_inputs(await json_object(request))
    ids = [_input_id(item, index) for index, item in enumerate(inputs)]
    if len(set(ids)) != len(ids):
        raise validation_error(
            "Duplicate IDs found in batch input.",
            context={"ids": sorted({i for i in ids if ids.count(i) > 1})},
        )
    results, errors, missing = [], [], []
    for item, raw_id in zip(inputs, ids, strict=True):
        record = table.find(raw_id, item.get("idProperty"))
        if record is None:
            missing.append(raw_id)
            continue
        try:
            values = validate_properties(table.registry, item.get("properties", {}))
            updated = table.update(record.id, values, now_ms())
        except ApiError as problem:
            errors.append(_failed_input(problem, {"ids": [raw_id]}))
            continue
        results.append(record_json(table, updated, _written_names(table, values)))
    if missing:
        errors.insert(0, _missing_error(table, missing))
    return _respond(results, errors, started, 200)


async def batch_upsert(request: Request) -> Response:
    started = now_ms()
    sandbox = sandbox_of(request)
    table = _table(request)
    inputs = batch_inputs(await json_object(request))
    results, errors = [], []
    for index, item in enumerate(inputs):
        raw_id = _input_id(item, index)
        id_property = item.get("idProperty")
        if not isinstance(id_property, str) or id_property not in table.unique:
            raise validation_error(
                f"inputs[{index}].idProperty must name a unique property of {table.object_type.name} "
                f"({sorted(table.unique)}), got {id_property!r}."
            )
        try:
            values = validate_properties(table.registry, item.get("properties", {}))
            existing = table.find(raw_id, id_property)
            if existing is None:
                values[id_property] = validate_properties(table.registry, {id_property: raw_id})[id_property]
                record, is_new = sandbox.create(table, values), True
            else:
                record, is_new = table.update(existing.id, values, now_ms()), False
        except ApiError as problem:
            errors.append(_failed_input(problem, {"ids": [raw_id]}))
            continue
        body = record_json(table, record, _written_names(table, values))
        body["new"] = is_new
        results.append(body)
    return _respond(results, errors, started, 200)


async def batch_archive(request: Request) -> Response:
    sandbox = sandbox_of(request)
    table = _table(request)
    inputs = batch_inputs(await json_object(request))
    for index, item in enumerate(inputs):
        sandbox.archive(table, _input_id(item, index))
    return no_content()


ROUTES = [
    Route("/crm/v3/objects/{objectType}/batch/read", batch_read, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/batch/create", batch_create, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/batch/update", batch_update, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/batch/upsert", batch_upsert, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/batch/archive", batch_archive, methods=["POST"]),
]
