"""CRM v3 Properties API: list, read, create, update and archive property definitions at runtime.

Changing a property's type leaves stored values untouched, as HubSpot does: a sync then meets values that no
longer fit the new type, which is exactly the drift it has to survive.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubspot_sandbox.clock import now_ms
from hubspot_sandbox.errors import ApiError, validation_error
from hubspot_sandbox.http_util import json_object, json_response, no_content, query_bool, sandbox_of
from hubspot_sandbox.properties import PropertyDef
from hubspot_sandbox.records import ObjectTable


def _table(request: Request) -> ObjectTable:
    return sandbox_of(request).table(request.path_params["objectType"])


async def list_properties(request: Request) -> Response:
    registry = _table(request).registry
    source = registry.archived if query_bool(request, "archived") else registry.live
    return json_response({"results": [definition.to_json() for definition in source.values()]})


async def get_property(request: Request) -> Response:
    registry = _table(request).registry
    name = request.path_params["propertyName"]
    if query_bool(request, "archived"):
        definition = registry.archived.get(name)
        if definition is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find archived property with name {name}")
        return json_response(definition.to_json())
    return json_response(registry.require(name).to_json())


def _typed(action: Callable[[], PropertyDef]) -> PropertyDef:
    try:
        return action()
    except (TypeError, ValueError) as problem:
        raise validation_error(f"Invalid input JSON: {problem}") from None


async def create_property(request: Request) -> Response:
    table = _table(request)
    body = await json_object(request)
    definition = _typed(lambda: table.registry.create(body, now_ms()))
    if definition.has_unique_value:
        table.clear_unique_index()
    return json_response(definition.to_json(), 201)


async def update_property(request: Request) -> Response:
    table = _table(request)
    body = await json_object(request)
    definition = _typed(lambda: table.registry.update(request.path_params["propertyName"], body, now_ms()))
    return json_response(definition.to_json())


async def archive_property(request: Request) -> Response:
    table = _table(request)
    table.registry.archive(request.path_params["propertyName"], now_ms())
    table.clear_unique_index()
    return no_content()


ROUTES = [
    Route("/crm/v3/properties/{objectType}", list_properties, methods=["GET"]),
    Route("/crm/v3/properties/{objectType}", create_property, methods=["POST"]),
    Route("/crm/v3/properties/{objectType}/{propertyName}", get_property, methods=["GET"]),
    Route("/crm/v3/properties/{objectType}/{propertyName}", update_property, methods=["PATCH"]),
    Route("/crm/v3/properties/{objectType}/{propertyName}", archive_property, methods=["DELETE"]),
]
