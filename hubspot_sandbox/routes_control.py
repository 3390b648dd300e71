"""The control API under ``/_sandbox/``: reset, seed, faults, limits, config, bulk last-modified, writes
as other sources (a person in HubSpot) and drift a sync can miss, stats.

It is not part of HubSpot: it needs no token, is never rate limited, faulted or counted in the stats.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubspot_sandbox.clock import iso_ms, now_ms, parse_datetime_ms
from hubspot_sandbox.errors import validation_error
from hubspot_sandbox.http_util import json_object, json_response, sandbox_of
from hubspot_sandbox.seed import seed
from hubspot_sandbox.serialize import record_json, selected_properties
from hubspot_sandbox.sources import SOURCE_TYPES, Source, named_source
from hubspot_sandbox.state import apply_config, describe_config
from hubspot_sandbox.values import validate_properties

MAX_TOUCH = 2_000_000
ARCHIVE_RETENTION_DAYS = 90
Handler = Callable[[Request], Awaitable[Response]]


def control_endpoint(handler: Handler) -> Handler:
    """Control bodies are loosely typed JSON: a value of the wrong type is the caller's 400, not a 500."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except (TypeError, ValueError, AttributeError, KeyError) as problem:
            raise validation_error(f"Invalid control request: {type(problem).__name__}: {problem}") from None

    return guarded


async def _optional_object(request: Request) -> dict:
    return await json_object(request) if (await request.body()).strip() else {}


@control_endpoint
async def health(request: Request) -> Response:
    sandbox = sandbox_of(request)
    counts = {name: len(table.live) for name, table in sandbox.tables.items()}
    return json_response({"status": "ok", "records": counts})


@control_endpoint
async def reset(request: Request) -> Response:
    sandbox = sandbox_of(request)
    sandbox.reset()
    body = await _optional_object(request)
    if "seed" in body:
        return await _seed_with(request, body["seed"])
    return json_response({"status": "reset"})


@control_endpoint
async def seed_data(request: Request) -> Response:
    return await _seed_with(request, await json_object(request))


async def _seed_with(request: Request, body: object) -> Response:
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: the seed request must be an object")
    counts = {k: v for k, v in body.items() if k not in ("seed", "dirtyShare", "associations")}
    started = time.perf_counter()
    result = seed(
        sandbox_of(request),
        counts,
        seed_number=int(body.get("seed", 0)),
        dirty_share=float(body.get("dirtyShare", 0.0)),
        associate=bool(body.get("associations", True)),
    )
    result["seconds"] = round(time.perf_counter() - started, 3)
    return json_response(result)


@control_endpoint
async def faults(request: Request) -> Response:
    injector = sandbox_of(request).faults
    if request.method == "PUT":
        injector.configure(await json_object(request))
    elif request.method == "DELETE":
        injector.clear()
    return json_response(injector.describe())


@control_endpoint
async def limits(request: Request) -> Response:
    limiter = sandbox_of(request).limiter
    if request.method == "PUT":
        limiter.configure(await json_object(request))
    return json_response(limiter.describe())


@control_endpoint
async def config(request: Request) -> Response:
    sandbox = sandbox_of(request)
    if request.method == "PUT":
        apply_config(sandbox, await json_object(request))
    return json_response(describe_config(sandbox))


@control_endpoint
async def bulk_touch(request: Request) -> Response:
    """Give N records one identical last-modified millisecond, as a HubSpot bulk import does.

    Body: ``{"objectType": "contacts", "count": N}`` (the first N live records by id) or ``"ids": [...]``;
    optional ``"timestampMs"`` (default: now) and ``"properties"`` to write at the same time.
    """
    sandbox = sandbox_of(request)
    body = await json_object(request)
    table = sandbox.table(str(body.get("objectType", "")))
    if "ids" in body:
        records = [sandbox.require(table, raw) for raw in body["ids"]]
    else:
        count = body.get("count")
        if not isinstance(count, int) or not 0 < count <= MAX_TOUCH:
            raise validation_error(f"`count` must be an integer between 1 and {MAX_TOUCH}, or pass `ids`.")
        records = []
        for record in table:
            if len(records) == count:
                break
            records.append(record)
    stamp = int(body.get("timestampMs") or now_ms())
    values = validate_properties(table.registry, body.get("properties") or {})
    if set(values) & set(table.unique):
        raise validation_error("bulk-touch cannot write unique properties (one value for many records).")
    table.touch_many(records, stamp, values)
    ids = [r.id for r in records]
    return json_response(
        {
            "objectType": table.object_type.name,
            "count": len(ids),
            "timestampMs": stamp,
            "firstId": str(min(ids)) if ids else None,
            "lastId": str(max(ids)) if ids else None,
        }
    )


@control_endpoint
async def write(request: Request) -> Response:
    """Write values as someone other than the API caller, as HubSpot records it: by default a person in
    HubSpot (``CRM_UI``, needs ``userId``), at ``timestamp`` (default now). It moves last-modified and
    reaches search like that edit would, so two-way sync can meet a UI edit made at a known moment.

    Body: ``{"objectType", "id", "properties", "sourceType": "CRM_UI", "userId": 7, "timestamp": ISO|ms}``.
    """
    return await _write(request, default_source="CRM_UI", touch=True, reach_search=True)


@control_endpoint
async def drift(request: Request) -> Response:
    """Change values the way a sync can miss: last-modified stays (``touchLastModified``, default false)
    and search keeps the old version (``reachSearch``, default false), as when HubSpot's own processes
    rewrite values or its index drops an update. History still records it (default ``MIGRATION``).

    Body: ``{"objectType", "id", "properties", "touchLastModified": false, "reachSearch": false}`` plus the
    optional ``sourceType``, ``userId`` and ``timestamp`` of /_sandbox/write.
    """
    body = await json_object(request)
    flags = {key: body.get(key, False) for key in ("touchLastModified", "reachSearch")}
    if not all(isinstance(flag, bool) for flag in flags.values()):
        raise validation_error("`touchLastModified` and `reachSearch` must be true or false.")
    return await _write(
        request,
        default_source="MIGRATION",
        touch=flags["touchLastModified"],
        reach_search=flags["reachSearch"],
    )


async def _write(request: Request, *, default_source: str, touch: bool, reach_search: bool) -> Response:
    sandbox = sandbox_of(request)
    body = await json_object(request)
    table = sandbox.table(str(body.get("objectType", "")))
    record = sandbox.require(table, body.get("id", ""))
    values = validate_properties(table.registry, body.get("properties") or {})
    source = _source(str(body.get("sourceType", default_source)), body.get("userId"))
    written_ms = None
    if body.get("timestamp") is not None:
        written_ms = parse_datetime_ms(str(body["timestamp"]))
        if touch and written_ms < record.updated_ms:
            raise validation_error(
                f"timestamp {iso_ms(written_ms)} is before {table.object_type.singular} {record.id} was "
                f"last modified ({iso_ms(record.updated_ms)}): a write that moves last-modified cannot be "
                "back-dated."
            )
    updated = table.update(
        record.id, values, now_ms(), source, written_ms=written_ms, touch=touch, reach_search=reach_search
    )
    names = selected_properties(table, [*table.object_type.default_properties, *values])
    return json_response(record_json(table, updated, names, list(values)))


def _source(source_type: str, user_id: object) -> Source:
    if source_type not in SOURCE_TYPES:
        raise validation_error(f"Unknown sourceType {source_type!r}; one of {sorted(SOURCE_TYPES)}.")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0):
        raise validation_error("`userId` must be a positive integer.")
    if source_type == "CRM_UI" and user_id is None:
        raise validation_error("A CRM_UI write is a person's: give their `userId`.")
    return named_source(source_type, user_id)


@control_endpoint
async def purge_archived(request: Request) -> Response:
    """Empty the recycle bin of what was archived ``olderThanDays`` ago (default 90), as HubSpot purges
    archived records after 90 days: they are then in neither list, archive, search nor batch read."""
    body = await _optional_object(request)
    days = body.get("olderThanDays", ARCHIVE_RETENTION_DAYS)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days < 0:
        raise validation_error("`olderThanDays` must be a number of days, 0 or more.")
    purged = sandbox_of(request).purge_archived(days, now_ms())
    return json_response({"purged": purged})


@control_endpoint
async def stats(request: Request) -> Response:
    counters = sandbox_of(request).stats
    if request.method == "DELETE":
        counters.reset()
    return json_response(counters.to_json())


ROUTES = [
    Route("/_sandbox/health", health, methods=["GET"]),
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/seed", seed_data, methods=["POST"]),
    Route("/_sandbox/faults", faults, methods=["GET", "PUT", "DELETE"]),
    Route("/_sandbox/limits", limits, methods=["GET", "PUT"]),
    Route("/_sandbox/config", config, methods=["GET", "PUT"]),
    Route("/_sandbox/bulk-touch", bulk_touch, methods=["POST"]),
    Route("/_sandbox/purge-archived", purge_archived, methods=["POST"]),
    Route("/_sandbox/write", write, methods=["POST"]),
    Route("/_sandbox/drift", drift, methods=["POST"]),
    Route("/_sandbox/stats", stats, methods=["GET", "DELETE"]),
]
