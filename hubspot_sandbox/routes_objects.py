"""CRM v3 object endpoints: list, get, create, update, archive, merge, GDPR delete and search."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubspot_sandbox.associations import inline_association_types, v3_association_page
from hubspot_sandbox.clock import now_ms
from hubspot_sandbox.errors import ApiError, not_found, validation_error
from hubspot_sandbox.http_util import (
    decode_cursor,
    encode_cursor,
    json_object,
    json_response,
    no_content,
    query_bool,
    query_int,
    query_list,
    sandbox_of,
)
from hubspot_sandbox.records import ObjectTable, Record
from hubspot_sandbox.search import check_body_size, parse_request, run_search
from hubspot_sandbox.serialize import record_json, selected_properties
from hubspot_sandbox.state import Sandbox
from hubspot_sandbox.values import validate_properties


def _table(request: Request) -> ObjectTable:
    return sandbox_of(request).table(request.path_params["objectType"])


class ReadOptions:
    """The property/history/association selection shared by list and get."""

    def __init__(self, request: Request, table: ObjectTable) -> None:
        self.names = selected_properties(table, query_list(request, "properties"))
        history = query_list(request, "propertiesWithHistory")
        self.history_names = selected_properties(table, history) if history else None
        self.association_types = inline_association_types(query_list(request, "associations") or [])
        self.base_url = str(request.base_url).rstrip("/")
        self.archived = query_bool(request, "archived")

    def render(self, sandbox: Sandbox, table: ObjectTable, record: Record) -> dict[str, Any]:
        body = record_json(table, record, self.names, self.history_names)
        if self.association_types:
            associations = v3_associations(sandbox, table, record, self.association_types, self.base_url)
            if associations:
                body["associations"] = associations
        return body


def v3_associations(
    sandbox: Sandbox, table: ObjectTable, record: Record, to_types: list[str], base_url: str
) -> dict[str, dict[str, Any]]:
    """A record's v3 ``associations``: each type's first page, HubSpot's ``contact_to_company`` names."""
    found: dict[str, dict[str, Any]] = {}
    for to_type in to_types:
        live = sandbox.tables[to_type].live
        page = v3_association_page(
            sandbox.associations, table.object_type.name, record.id, to_type, live, base_url
        )
        if page["results"]:
            found[to_type] = page
    return found


async def list_objects(request: Request) -> Response:
    sandbox = sandbox_of(request)
    table = _table(request)
    options = ReadOptions(request, table)
    max_limit = 50 if options.history_names is not None else 100  # HubSpot's page size with history
    limit = query_int(request, "limit", 10, 1, max_limit)
    after_id = decode_cursor(request.query_params.get("after"))
    records, next_id = table.page(after_id, limit, options.archived)
    if sandbox.list_pages_reversed:
        records.reverse()
    body: dict[str, Any] = {"results": [options.render(sandbox, table, r) for r in records]}
    if next_id is not None:
        cursor = encode_cursor(next_id)
        body["paging"] = {
            "next": {"after": cursor, "link": str(request.url.include_query_params(after=cursor))}
        }
    return json_response(body)


async def get_object(request: Request) -> Response:
    sandbox = sandbox_of(request)
    table = _table(request)
    options = ReadOptions(request, table)
    raw_id = request.path_params["objectId"]
    record = table.find(raw_id, request.query_params.get("idProperty"), options.archived)
    if record is None:
        raise record_not_found(table, raw_id)
    return json_response(options.render(sandbox, table, record))


async def create_object(request: Request) -> Response:
    sandbox = sandbox_of(request)
    table = _table(request)
    body = await json_object(request)
    values = validate_properties(table.registry, body.get("properties", {}))
    record = sandbox.create(table, values, body.get("associations") or [])
    return json_response(record_json(table, record, _written_names(table, values)), 201)


async def update_object(request: Request) -> Response:
    table = _table(request)
    body = await json_object(request)
    raw_id = request.path_params["objectId"]
    found = table.find(raw_id, request.query_params.get("idProperty"))
    if found is None:
        raise record_not_found(table, raw_id)
    values = validate_properties(table.registry, body.get("properties", {}))
    record = table.update(found.id, values, now_ms())
    return json_response(record_json(table, record, _written_names(table, values)))


async def archive_object(request: Request) -> Response:
    sandbox = sandbox_of(request)
    sandbox.archive(_table(request), request.path_params["objectId"])
    return no_content()  # HubSpot answers 204 whether or not the record existed


async def merge_objects(request: Request) -> Response:
    sandbox = sandbox_of(request)
    table = _table(request)
    body = await json_object(request)
    primary, merged = body.get("primaryObjectId"), body.get("objectIdToMerge")
    if primary is None or merged is None:
        raise validation_error("Invalid input JSON: `primaryObjectId` and `objectIdToMerge` are required")
    record = sandbox.merge(table, primary, merged)
    names = [*selected_properties(table, None), "hs_merged_object_ids"]
    return json_response(record_json(table, record, names))


async def gdpr_delete(request: Request) -> Response:
    """``{"objectId": "123"}`` or ``{"objectId": "a@b.com", "idProperty": "email"}``: gone for good."""
    sandbox = sandbox_of(request)
    table = _table(request)
    body = await json_object(request)
    object_id, id_property = body.get("objectId"), body.get("idProperty")
    if isinstance(object_id, bool) or not isinstance(object_id, (str, int)) or not str(object_id).strip():
        raise validation_error("Invalid input JSON: `objectId` is required")
    if id_property is not None and not isinstance(id_property, str):
        raise validation_error("Invalid input JSON: `idProperty` must be a string")
    sandbox.gdpr_delete(table, object_id, id_property)
    return no_content()


async def search_objects(request: Request) -> Response:
    sandbox = sandbox_of(request)
    table = _table(request)
    check_body_size(await request.body())
    search = parse_request(table, await json_object(request), sandbox.search_limits)
    total, records = run_search(table, search)
    names = selected_properties(table, search.properties)
    body: dict[str, Any] = {"total": total, "results": [record_json(table, r, names) for r in records]}
    next_offset = search.after + len(records)
    if records and next_offset < total:
        body["paging"] = {"next": {"after": str(next_offset)}}
    return json_response(body)


def _written_names(table: ObjectTable, values: dict[str, str]) -> list[str]:
    """HubSpot echoes the written properties plus the bookkeeping ones after a write."""
    return selected_properties(
        table, ["createdate", "hs_object_id", table.object_type.last_modified_property, *values]
    )


def record_not_found(table: ObjectTable, raw_id: str) -> ApiError:
    return not_found(
        f"Object not found. {table.object_type.singular} {raw_id} does not exist.", context={"id": [raw_id]}
    )


ROUTES = [
    Route("/crm/v3/objects/{objectType}", list_objects, methods=["GET"]),
    Route("/crm/v3/objects/{objectType}", create_object, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/search", search_objects, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/merge", merge_objects, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/gdpr-delete", gdpr_delete, methods=["POST"]),
    Route("/crm/v3/objects/{objectType}/{objectId}", get_object, methods=["GET"]),
    Route("/crm/v3/objects/{objectType}/{objectId}", update_object, methods=["PATCH"]),
    Route("/crm/v3/objects/{objectType}/{objectId}", archive_object, methods=["DELETE"]),
]
