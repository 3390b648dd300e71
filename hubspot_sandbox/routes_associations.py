"""CRM v4 associations: per-record list, create (labelled or default), delete, and the batch endpoints.

Also the v3 per-record read, the target of the ``paging.next.link`` of inline (``associations=``) reads.
Reads accept object types HubSpot has but the sandbox does not emulate, and find no associations to them.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubspot_sandbox.associations import (
    NO_ASSOCIATIONS_FOUND,
    TYPES_BY_ID,
    V4_PAGE_SIZE,
    decode_after,
    encode_after,
    next_paging,
    object_type_id,
    read_type,
    singular_name,
    type_spec,
    v3_association_page,
)
from hubspot_sandbox.clock import now_ms
from hubspot_sandbox.errors import ApiError, batch_error, validation_error
from hubspot_sandbox.http_util import (
    batch_envelope,
    batch_inputs,
    json_body,
    json_object,
    json_response,
    no_content,
    query_int,
    sandbox_of,
)
from hubspot_sandbox.object_types import resolve_object_type
from hubspot_sandbox.records import parse_id
from hubspot_sandbox.state import Sandbox

MAX_ASSOCIATION_INPUTS = 1000  # v4 batch endpoints take up to 1,000 inputs


def _types(request: Request, from_key: str, to_key: str) -> tuple[str, str]:
    return (
        resolve_object_type(request.path_params[from_key]).name,
        resolve_object_type(request.path_params[to_key]).name,
    )


def _read_types(request: Request, from_key: str, to_key: str) -> tuple[str, str]:
    return read_type(request.path_params[from_key]), read_type(request.path_params[to_key])


def _live(sandbox: Sandbox, object_type: str) -> Container[int]:
    table = sandbox.tables.get(object_type)
    return table.live if table is not None else ()


def _existing_id(sandbox: Sandbox, object_type: str, raw: Any) -> int | None:
    table = sandbox.tables.get(object_type)
    record = table.get(parse_id(str(raw)) or 0) if table is not None else None
    return record.id if record is not None else None


def _read_id(sandbox: Sandbox, object_type: str, raw: Any) -> int | None:
    """The id whose associations a read returns. An id merged away is not resolved to the record the
    merge made: its associations moved there, so reads by the old id come back empty, as HubSpot's do
    (https://developers.hubspot.com/changelog/announcement-deals-now-support-merging)."""
    table = sandbox.tables.get(object_type)
    record_id = parse_id(str(raw)) or 0
    if table is not None and record_id in table.redirects:
        return record_id
    return _existing_id(sandbox, object_type, raw)


def _require_id(sandbox: Sandbox, object_type: str, raw: Any, *, reading: bool = False) -> int:
    record_id = (_read_id if reading else _existing_id)(sandbox, object_type, raw)
    if record_id is None:
        raise ApiError(
            404,
            "OBJECT_NOT_FOUND",
            f"{singular_name(object_type)} {raw} does not exist.",
            context={"id": [str(raw)]},
        )
    return record_id


def _spec_ids(sandbox: Sandbox, from_type: str, to_type: str, raw: Any) -> set[int]:
    if not isinstance(raw, list) or not raw:
        raise validation_error("Invalid input JSON: expected a non-empty array of association specs")
    type_ids = set()
    for spec in raw:
        type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
        if not isinstance(type_id, int) or isinstance(type_id, bool):
            raise validation_error("Invalid input JSON: `associationTypeId` must be an integer")
        sandbox.associations.check_type(from_type, to_type, type_id)
        type_ids.add(type_id)
    return type_ids


def _targets_json(targets: list[tuple[int, frozenset[int]]]) -> list[dict[str, Any]]:
    return [
        {"toObjectId": to_id, "associationTypes": [type_spec(t) for t in sorted(types)]}
        for to_id, types in targets
    ]


def _v4_link(request: Request, from_type: str, from_id: int | str, to_type: str, cursor: str) -> str:
    base = str(request.base_url).rstrip("/")
    path = f"/crm/v4/objects/{object_type_id(from_type)}/{from_id}/associations/{object_type_id(to_type)}"
    return f"{base}{path}?after={cursor}"


def _labels_json(
    from_type: str, from_id: int, to_type: str, to_id: int, types: frozenset[int]
) -> dict[str, Any]:
    return {
        "fromObjectTypeId": resolve_object_type(from_type).type_id,
        "fromObjectId": from_id,
        "toObjectTypeId": resolve_object_type(to_type).type_id,
        "toObjectId": to_id,
        "labels": sorted(label for t in types if (label := TYPES_BY_ID[t].label)),
    }


async def list_record_associations(request: Request) -> Response:
    sandbox = sandbox_of(request)
    from_type, to_type = _read_types(request, "objectType", "toObjectType")
    from_id = _require_id(sandbox, from_type, request.path_params["objectId"], reading=True)
    limit = query_int(request, "limit", V4_PAGE_SIZE, 1, V4_PAGE_SIZE)
    after_id = decode_after(request.query_params.get("after"), to_type)
    targets, next_id = sandbox.associations.page(
        from_type, from_id, to_type, _live(sandbox, to_type), after_id, limit
    )
    body: dict[str, Any] = {"results": _targets_json(targets)}
    if next_id is not None:
        cursor = encode_after(to_type, next_id)
        body["paging"] = next_paging(cursor, _v4_link(request, from_type, from_id, to_type, cursor))
    return json_response(body)


async def list_record_associations_v3(request: Request) -> Response:
    sandbox = sandbox_of(request)
    from_type, to_type = _read_types(request, "objectType", "toObjectType")
    from_id = _require_id(sandbox, from_type, request.path_params["objectId"], reading=True)
    body = v3_association_page(
        sandbox.associations,
        from_type,
        from_id,
        to_type,
        _live(sandbox, to_type),
        str(request.base_url).rstrip("/"),
        after_id=decode_after(request.query_params.get("after"), to_type),
        limit=query_int(request, "limit", V4_PAGE_SIZE, 1, V4_PAGE_SIZE),
    )
    return json_response(body)


async def create_labelled(request: Request) -> Response:
    sandbox = sandbox_of(request)
    from_type, to_type = _types(request, "objectType", "toObjectType")
    from_id = _require_id(sandbox, from_type, request.path_params["objectId"])
    to_id = _require_id(sandbox, to_type, request.path_params["toObjectId"])
    type_ids = _spec_ids(sandbox, from_type, to_type, await json_body(request))
    types = sandbox.associations.add(from_type, from_id, to_type, to_id, type_ids)
    return json_response(_labels_json(from_type, from_id, to_type, to_id, types), 201)


def _default_pair(
    sandbox: Sandbox, from_type: str, from_id: int, to_type: str, to_id: int
) -> list[dict[str, Any]]:
    """Associate with the default type; HubSpot reports both directions."""
    default = sandbox.associations.default_type(from_type, to_type)
    sandbox.associations.add(from_type, from_id, to_type, to_id, {default})
    inverse = TYPES_BY_ID[default].inverse_id
    return [
        {
            "from": {"id": str(from_id)},
            "to": {"id": str(to_id)},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": default},
        },
        {
            "from": {"id": str(to_id)},
            "to": {"id": str(from_id)},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": inverse},
        },
    ]


async def create_default(request: Request) -> Response:
    started = now_ms()
    sandbox = sandbox_of(request)
    from_type, to_type = _types(request, "fromObjectType", "toObjectType")
    from_id = _require_id(sandbox, from_type, request.path_params["fromObjectId"])
    to_id = _require_id(sandbox, to_type, request.path_params["toObjectId"])
    body, _ = batch_envelope(_default_pair(sandbox, from_type, from_id, to_type, to_id), [], started)
    return json_response(body)


async def delete_association(request: Request) -> Response:
    sandbox = sandbox_of(request)
    from_type, to_type = _types(request, "objectType", "toObjectType")
    from_id = parse_id(request.path_params["objectId"])
    to_id = parse_id(request.path_params["toObjectId"])
    if from_id is not None and to_id is not None:
        sandbox.associations.remove(from_type, from_id, to_type, to_id)
    return no_content()


def _pair_input(item: Any, index: int, many_to: bool = False) -> tuple[str, list[str]]:
    if not isinstance(item, dict) or not isinstance(item.get("from"), dict) or "id" not in item["from"]:
        raise validation_error(f"Invalid input JSON: inputs[{index}].from.id is required")
    to = item.get("to")
    if many_to:
        if not isinstance(to, list) or not all(isinstance(t, dict) and "id" in t for t in to):
            raise validation_error(f"Invalid input JSON: inputs[{index}].to must be an array of {{id}}")
        return str(item["from"]["id"]), [str(t["id"]) for t in to]
    if not isinstance(to, dict) or "id" not in to:
        raise validation_error(f"Invalid input JSON: inputs[{index}].to.id is required")
    return str(item["from"]["id"]), [str(to["id"])]


def _no_associations(from_type: str, to_type: str, raw_id: str) -> dict[str, Any]:
    """HubSpot's 207 entry for an input without associations (or that does not exist)."""
    from_name, to_name = singular_name(from_type), singular_name(to_type)
    error = batch_error(
        "OBJECT_NOT_FOUND",
        f"No {to_name} is associated with {from_name} {raw_id}.",
        {"fromObjectId": [raw_id], "fromObjectType": [from_name], "toObjectType": [to_name]},
    )
    return {**error, "subCategory": NO_ASSOCIATIONS_FOUND}


async def batch_read(request: Request) -> Response:
    """Each input's first page of associations, or the page after its ``after``; paging per input."""
    started = now_ms()
    sandbox = sandbox_of(request)
    from_type, to_type = _read_types(request, "fromObjectType", "toObjectType")
    inputs = batch_inputs(await json_object(request), MAX_ASSOCIATION_INPUTS)
    live = _live(sandbox, to_type)
    results, errors = [], []
    for index, item in enumerate(inputs):
        if not isinstance(item, dict) or "id" not in item:
            raise validation_error(f"Invalid input JSON: inputs[{index}].id is required")
        raw_id = str(item["id"])
        after_id = decode_after(str(item["after"]), to_type) if item.get("after") else 0
        from_id = _read_id(sandbox, from_type, raw_id)
        targets, next_id = (
            sandbox.associations.page(from_type, from_id, to_type, live, after_id, V4_PAGE_SIZE)
            if from_id is not None
            else ([], None)
        )
        if not targets:
            errors.append(_no_associations(from_type, to_type, raw_id))
            continue
        result: dict[str, Any] = {"from": {"id": raw_id}, "to": _targets_json(targets)}
        if next_id is not None:
            cursor = encode_after(to_type, next_id)
            result["paging"] = next_paging(cursor, _v4_link(request, from_type, raw_id, to_type, cursor))
        results.append(result)
    body, partial = batch_envelope(results, errors, started)
    return json_response(body, 207 if partial else 200)


async def batch_create(request: Request) -> Response:
    started = now_ms()
    sandbox = sandbox_of(request)
    from_type, to_type = _types(request, "fromObjectType", "toObjectType")
    inputs = batch_inputs(await json_object(request), MAX_ASSOCIATION_INPUTS)
    results, errors = [], []
    for index, item in enumerate(inputs):
        from_raw, (to_raw,) = _pair_input(item, index)
        type_ids = _spec_ids(sandbox, from_type, to_type, item.get("types"))
        from_id, to_id = _existing_id(sandbox, from_type, from_raw), _existing_id(sandbox, to_type, to_raw)
        if from_id is None or to_id is None:
            missing = from_raw if from_id is None else to_raw
            errors.append(
                batch_error("OBJECT_NOT_FOUND", f"Record {missing} does not exist.", {"ids": [missing]})
            )
            continue
        types = sandbox.associations.add(from_type, from_id, to_type, to_id, type_ids)
        results.append(_labels_json(from_type, from_id, to_type, to_id, types))
    body, partial = batch_envelope(results, errors, started)
    return json_response(body, 207 if partial else 201)


async def batch_associate_default(request: Request) -> Response:
    started = now_ms()
    sandbox = sandbox_of(request)
    from_type, to_type = _types(request, "fromObjectType", "toObjectType")
    inputs = batch_inputs(await json_object(request), MAX_ASSOCIATION_INPUTS)
    results: list[dict[str, Any]] = []
    errors = []
    for index, item in enumerate(inputs):
        from_raw, (to_raw,) = _pair_input(item, index)
        from_id, to_id = _existing_id(sandbox, from_type, from_raw), _existing_id(sandbox, to_type, to_raw)
        if from_id is None or to_id is None:
            missing = from_raw if from_id is None else to_raw
            errors.append(
                batch_error("OBJECT_NOT_FOUND", f"Record {missing} does not exist.", {"ids": [missing]})
            )
            continue
        results.extend(_default_pair(sandbox, from_type, from_id, to_type, to_id))
    body, _ = batch_envelope(results, errors, started)
    return json_response(body)  # the SDK maps only 200 for this endpoint


async def batch_archive(request: Request) -> Response:
    sandbox = sandbox_of(request)
    from_type, to_type = _types(request, "fromObjectType", "toObjectType")
    inputs = batch_inputs(await json_object(request), MAX_ASSOCIATION_INPUTS)
    for index, item in enumerate(inputs):
        from_raw, to_raws = _pair_input(item, index, many_to=True)
        from_id = parse_id(from_raw)
        for to_raw in to_raws:
            to_id = parse_id(to_raw)
            if from_id is not None and to_id is not None:
                sandbox.associations.remove(from_type, from_id, to_type, to_id)
    return no_content()


async def batch_archive_labels(request: Request) -> Response:
    sandbox = sandbox_of(request)
    from_type, to_type = _types(request, "fromObjectType", "toObjectType")
    inputs = batch_inputs(await json_object(request), MAX_ASSOCIATION_INPUTS)
    for index, item in enumerate(inputs):
        from_raw, (to_raw,) = _pair_input(item, index)
        type_ids = _spec_ids(sandbox, from_type, to_type, item.get("types"))
        from_id, to_id = parse_id(from_raw), parse_id(to_raw)
        if from_id is not None and to_id is not None:
            sandbox.associations.remove(from_type, from_id, to_type, to_id, type_ids)
    return no_content()


async def list_labels(request: Request) -> Response:
    """The association types defined between two object types (HubSpot-defined only: no custom labels)."""
    from_type, to_type = _types(request, "fromObjectType", "toObjectType")
    specs = [t for t in TYPES_BY_ID.values() if (t.from_type, t.to_type) == (from_type, to_type)]
    return json_response({"results": [type_spec(t.type_id) for t in sorted(specs, key=lambda t: t.type_id)]})


ROUTES = [
    Route("/crm/v4/associations/{fromObjectType}/{toObjectType}/labels", list_labels, methods=["GET"]),
    Route(
        "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}",
        list_record_associations,
        methods=["GET"],
    ),
    Route(
        "/crm/v3/objects/{objectType}/{objectId}/associations/{toObjectType}",
        list_record_associations_v3,
        methods=["GET"],
    ),
    Route(
        "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
        create_default,
        methods=["PUT"],
    ),
    Route(
        "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
        create_labelled,
        methods=["PUT"],
    ),
    Route(
        "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
        delete_association,
        methods=["DELETE"],
    ),
    Route("/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", batch_read, methods=["POST"]),
    Route(
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create", batch_create, methods=["POST"]
    ),
    Route(
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
        batch_associate_default,
        methods=["POST"],
    ),
    Route(
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive", batch_archive, methods=["POST"]
    ),
    Route(
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/labels/archive",
        batch_archive_labels,
        methods=["POST"],
    ),
]
