"""CRM v3 batch endpoints: read, create, update, upsert, archive (at most 100 inputs each).

Writes are all-or-nothing, as on HubSpot: every input is checked before anything is written, and a batch
with any invalid input (unknown or read-only property, bad number, option not in the enumeration, ...)
answers one 400 VALIDATION_ERROR naming the offending inputs and properties (batch_problems.py); nothing
is written. A create that hits an existing unique value (a contact email) answers 409 CONFLICT naming the
first existing id, and writes nothing. An upsert whose inputs resolve to one record (emails differing
only in case) answers 400.

Per-input answers (207) come only from:
- batch create whose inputs all carry an ``objectWriteTraceId``: good inputs are written, each bad one
  is an ``errors`` entry, and every result and error echoes its input's trace id;
- batch read, for unknown or archived ids (one OBJECT_NOT_FOUND entry listing them);
- batch update, for ids that do not exist (or no longer do): the other inputs are written and the missing
  ids are listed in one OBJECT_NOT_FOUND entry. This is what HubSpot documents for batch update
  ("a 207 Multi-Status response when one or more of the batch operations fails",
  https://developers.hubspot.com/changelog/simplifying-batch-update-response-codes-for-crm-v3-apis) and
  what answers captured from portals show; invalid values in the same batch still fail it whole first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubspot_sandbox.batch_problems import BatchProblems
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
from hubspot_sandbox.records import ObjectTable, Record
from hubspot_sandbox.serialize import record_json, selected_properties
from hubspot_sandbox.state import Sandbox
from hubspot_sandbox.values import validate_properties

TRACE_ID = "objectWriteTraceId"
MAX_HISTORY_INPUTS = 50  # a batch read asking for property history takes half the usual 100 inputs


@dataclass
class _Write:
    reference: dict[str, list[str]]  # the input, as errors name it
    values: dict[str, str]
    record: Record | None = None  # the record to update; None for a new one
    associations: list[Any] | None = None
    trace_id: str | None = None


def _table(request: Request) -> ObjectTable:
    return sandbox_of(request).table(request.path_params["objectType"])


def _problems(sandbox: Sandbox) -> BatchProblems:
    return BatchProblems(name_inputs=sandbox.batch_errors_name_inputs)


def _input(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise validation_error(f"Invalid input JSON: inputs[{index}] must be an object")
    return item


def _input_id(item: Any, index: int) -> str:
    raw = _input(item, index).get("id")
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise validation_error(f"Invalid input JSON: inputs[{index}].id must be a string")
    return str(raw)


def _trace_ids(inputs: list[Any]) -> list[str] | None:
    """Every input's objectWriteTraceId, or None when the inputs carry none (all-or-nothing mode)."""
    traces = [item.get(TRACE_ID) if isinstance(item, dict) else None for item in inputs]
    if all(trace is None for trace in traces):
        return None
    if not all(isinstance(trace, str) and trace for trace in traces):
        raise validation_error(f"Invalid input JSON: give every input an {TRACE_ID}, or none.")
    if len(set(traces)) != len(traces):
        raise validation_error(f"Duplicate {TRACE_ID} values in batch input: each must be unique.")
    return traces  # type: ignore[return-value]


def _missing_error(table: ObjectTable, missing: list[str]) -> dict[str, Any]:
    return batch_error(
        "OBJECT_NOT_FOUND",
        f"Could not get some {table.object_type.singular.upper()} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        {"ids": missing},
    )


def _respond(results: list[Any], errors: list[dict[str, Any]], started: int, ok_status: int) -> Response:
    body, partial = batch_envelope(results, errors, started)
    return json_response(body, 207 if partial else ok_status)


def _written_names(table: ObjectTable, values: dict[str, str]) -> list[str]:
    return selected_properties(
        table, ["createdate", "hs_object_id", table.object_type.last_modified_property, *values]
    )


def _result(table: ObjectTable, record: Record, write: _Write) -> dict[str, Any]:
    body = record_json(table, record, _written_names(table, write.values))
    if write.trace_id is not None:
        body[TRACE_ID] = write.trace_id
    return body


def _unique_value(name: str, value: str) -> str:
    """A unique value as the index compares it: emails without case or surrounding blanks."""
    return value.strip().lower() if name == "email" else value


def _conflict(table: ObjectTable, name: str, value: str, existing: int | None) -> ApiError:
    detail = f"Existing ID: {existing}" if existing is not None else "Duplicate in this batch"
    label = "Contact" if name == "email" else table.object_type.singular.capitalize()
    return ApiError(409, "CONFLICT", f"{label} already exists. {detail}")


def _unique_conflicts(table: ObjectTable, writes: list[_Write]) -> list[tuple[_Write, ApiError]]:
    """Writes whose unique values exist on another record or repeat an earlier write of the batch."""
    conflicts = []
    for name, index in table.unique.items():
        claimed: dict[str, int | None] = {}
        for write in writes:
            value = write.values.get(name)
            if not value:
                continue
            key = _unique_value(name, value)
            own_id = write.record.id if write.record is not None else None
            existing = index.get(key)
            if (existing is not None and existing != own_id) or key in claimed:
                conflicts.append((write, _conflict(table, name, value, existing)))
            claimed[key] = own_id
    return conflicts


async def batch_read(request: Request) -> Response:
    started = now_ms()
    table = _table(request)
    body = await json_object(request)
    inputs = batch_inputs(body)
    names = selected_properties(table, string_list(body, "properties"))
    history = string_list(body, "propertiesWithHistory")
    history_names = selected_properties(table, history) if history else None
    if history and len(inputs) > MAX_HISTORY_INPUTS:
        raise validation_error(
            f"The maximum number of inputs supported in a batch request for property histories is "
            f"{MAX_HISTORY_INPUTS}. Please reduce the number of items and try again"
        )
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
    traces = _trace_ids(inputs)
    problems = _problems(sandbox)
    writes: list[_Write] = []
    for index, raw in enumerate(inputs):
        item = _input(raw, index)
        trace = traces[index] if traces else None
        reference = {"inputIndex": [str(index)]}
        if trace is not None:
            reference[TRACE_ID] = [trace]
        try:
            values = validate_properties(table.registry, item.get("properties", {}))
            associations = sandbox.check_associations(table, item.get("associations") or [])
        except ApiError as problem:
            problems.add(reference, problem)
            continue
        writes.append(_Write(reference, values, associations=associations, trace_id=trace))
    conflicts = _unique_conflicts(table, writes)
    if traces is None:
        if problems:
            raise problems.as_400()
        if conflicts:
            raise conflicts[0][1]
    for write, conflict in conflicts:
        problems.add(write.reference, conflict)
        writes.remove(write)
    results = []
    for write in writes:
        record = table.create(sandbox.next_id(), write.values, now_ms())
        for to_type, to_id, type_ids in write.associations or []:
            sandbox.associations.add(table.object_type.name, record.id, to_type, to_id, type_ids)
        results.append(_result(table, record, write))
    return _respond(results, problems.as_207_errors(), started, 201)


async def batch_update(request: Request) -> Response:
    started = now_ms()
    sandbox = sandbox_of(request)
    table = _table(request)
    inputs = batch_inputs(await json_object(request))
    ids = [_input_id(item, index) for index, item in enumerate(inputs)]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise validation_error(
            f"Duplicate IDs found in batch input: {repeated}. IDs must be unique", context={"ids": repeated}
        )
    problems = _problems(sandbox)
    writes: list[_Write] = []
    missing: list[str] = []
    for item, raw_id in zip(inputs, ids, strict=True):
        try:
            values = validate_properties(table.registry, item.get("properties", {}))
            record = table.find(raw_id, item.get("idProperty"))
        except ApiError as problem:
            problems.add({"ids": [raw_id]}, problem)
            continue
        if record is None:
            missing.append(raw_id)
        else:
            trace = item.get(TRACE_ID) if isinstance(item.get(TRACE_ID), str) else None
            writes.append(_Write({"ids": [raw_id]}, values, record=record, trace_id=trace))
    if problems:
        raise problems.as_400()
    conflicts = _unique_conflicts(table, writes)
    if conflicts:
        raise conflicts[0][1]
    results = [
        _result(table, table.update(write.record.id, write.values, now_ms()), write)
        for write in writes
        if write.record is not None
    ]
    return _respond(results, [_missing_error(table, missing)] if missing else [], started, 200)


async def batch_upsert(request: Request) -> Response:
    started = now_ms()
    sandbox = sandbox_of(request)
    table = _table(request)
    inputs = batch_inputs(await json_object(request))
    problems = _problems(sandbox)
    writes: list[_Write] = []
    targets: dict[tuple[str, str], list[str]] = {}
    for index, item in enumerate(inputs):
        raw_id = _input_id(item, index)
        id_property = item.get("idProperty")
        if not isinstance(id_property, str) or id_property not in table.unique:
            raise validation_error(
                f"inputs[{index}].idProperty must name a unique property of {table.object_type.name} "
                f"({sorted(table.unique)}), got {id_property!r}."
            )
        reference = {"ids": [raw_id]}
        try:
            values = validate_properties(table.registry, item.get("properties", {}))
            existing = table.find(raw_id, id_property)
            if existing is None:
                values[id_property] = validate_properties(table.registry, {id_property: raw_id})[id_property]
        except ApiError as problem:
            problems.add(reference, problem)
            continue
        new_key = values.get(id_property, "")
        target = ("id", str(existing.id)) if existing else (id_property, _unique_value(id_property, new_key))
        targets.setdefault(target, []).append(raw_id)
        trace = item.get(TRACE_ID) if isinstance(item.get(TRACE_ID), str) else None
        writes.append(_Write(reference, values, record=existing, trace_id=trace))
    repeated = [raw for raws in targets.values() if len(raws) > 1 for raw in raws]
    if repeated:
        # Two inputs for one record would race each other inside HubSpot: it refuses the batch instead.
        raise validation_error(
            f"Duplicate IDs found in batch input: {repeated}. IDs must be unique", context={"ids": repeated}
        )
    if problems:
        raise problems.as_400()
    conflicts = _unique_conflicts(table, writes)
    if conflicts:
        raise conflicts[0][1]
    results = []
    for write in writes:
        if write.record is None:
            record, is_new = sandbox.create(table, write.values), True
        else:
            record, is_new = table.update(write.record.id, write.values, now_ms()), False
        results.append({**_result(table, record, write), "new": is_new})
    return _respond(results, [], started, 200)


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
