"""The ASGI application: Starlette routes behind a gate that does what HubSpot's edge does.

For every API call (anything outside ``/_sandbox/``) the gate, in order: refuses over-long URLs (414),
checks the bearer token (401), counts the call against the rate windows (429 with ``policyName``), checks the
token's scopes (403 ``MISSING_SCOPES``), applies any injected fault, then lets the route answer; it adds the
correlation and rate-limit headers and records the call in the stats under its path template. Errors from
routes are turned into HubSpot-shaped bodies by the exception handlers, so no framework default page (or bare
500) ever reaches a client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubspot_sandbox import (
    routes_associations,
    routes_batch,
    routes_control,
    routes_objects,
    routes_properties,
)
from hubspot_sandbox.errors import ApiError, new_correlation_id, unauthorized
from hubspot_sandbox.faults import FAULT_MESSAGES, Fault
from hubspot_sandbox.http_util import json_response
from hubspot_sandbox.limits import rate_limit_body
from hubspot_sandbox.scopes import Grants, missing_scopes, missing_scopes_error, required_scopes
from hubspot_sandbox.sources import integration_source, writing_as
from hubspot_sandbox.state import Sandbox

CONTROL_PREFIX = "/_sandbox"
CORRELATION_KEY = "hubspot_sandbox.correlation_id"
UNMATCHED = "<unmatched>"
logger = logging.getLogger("hubspot_sandbox")


def _correlation_id(request: Request) -> str:
    return request.scope.get(CORRELATION_KEY) or new_correlation_id()


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response(exc.body(_correlation_id(request)), exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError(
            404, "OBJECT_NOT_FOUND", f"Unable to route {request.method} {request.url.path}: no such endpoint."
        )
    elif exc.status_code == 405:
        error = ApiError(
            405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported on {request.url.path}."
        )
    else:
        error = ApiError(exc.status_code, "VALIDATION_ERROR", str(exc.detail))
    return json_response(error.body(_correlation_id(request)), error.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error answering %s %s", request.method, request.url.path)
    body = ApiError(500, "INTERNAL_ERROR", f"internal error: {type(exc).__name__}").body(
        _correlation_id(request)
    )
    return json_response(body, 500)


def build_app(
    sandbox: Sandbox,
    grants: Grants | None = None,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    on_write: Callable[[], None] | None = None,
) -> ASGIApp:
    """The sandbox as an ASGI app. `grants` maps each accepted token to its scopes (default: the sandbox's
    token with every scope); `on_write` is told of every call that may have changed the portal."""
    routes = [
        *routes_control.ROUTES,
        *routes_batch.ROUTES,  # before the objects' /{objectId} routes, which would also match batch paths
        *routes_objects.ROUTES,
        *routes_properties.ROUTES,
        *routes_associations.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return ApiGate(app, sandbox, grants or {sandbox.token: None}, on_write)


class ApiGate:
    """Auth, rate limits, faults, headers and stats around every HubSpot API call."""

    def __init__(
        self, app: Starlette, sandbox: Sandbox, grants: Grants, on_write: Callable[[], None] | None = None
    ) -> None:
        self.app = app
        self.sandbox = sandbox
        self.grants = grants
        self.on_write = on_write
        self.state = app.state  # lets tests reach the sandbox from the outer app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif self.on_write is None or scope["method"] in ("GET", "HEAD"):
            await self._serve(scope, receive, send)
        else:
            # Told before and after: a save that runs while the call awaits must not clear the news of it.
            self.on_write()
            try:
                await self._serve(scope, receive, send)
            finally:
                self.on_write()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        correlation_id = new_correlation_id()
        scope[CORRELATION_KEY] = correlation_id
        template, path_params = self._template(scope)
        endpoint = f"{scope['method']} {template}"
        headers: dict[str, str] = {"X-HubSpot-Correlation-Id": correlation_id}
        status_seen: dict[str, int] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
                extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        url_bytes = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if url_bytes > sandbox.max_url_bytes:
            error = ApiError(
                414, "VALIDATION_ERROR", f"URI Too Long ({url_bytes} bytes): use batch read or search."
            )
            await self._answer(send_with_headers, 414, error.body(correlation_id))
            sandbox.stats.record(endpoint, 414)
            return
        token = _bearer_token(scope)
        if token is None or token not in self.grants:
            await self._answer(send_with_headers, 401, unauthorized().body(correlation_id))
            sandbox.stats.record(endpoint, 401)
            return
        verdict = sandbox.limiter.check(token, is_search=endpoint.endswith("/search"))
        headers.update(verdict.headers)
        if not verdict.allowed:
            assert verdict.policy is not None
            await self._answer(send_with_headers, 429, rate_limit_body(verdict.policy, correlation_id))
            sandbox.stats.record(endpoint, 429, verdict.policy)
            return
        needed = required_scopes(scope["method"], template, path_params)
        if missing_scopes(self.grants[token], needed):
            await self._answer(send_with_headers, 403, missing_scopes_error(needed).body(correlation_id))
            sandbox.stats.record(endpoint, 403)
            return
        fault = sandbox.faults.decide(endpoint)
        if fault is not None:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.after_apply:
                with writing_as(integration_source(token)):
                    await self._apply_then_lose(scope, receive, send, fault, endpoint, correlation_id)
                return
            if fault.drop:
                sandbox.stats.faults_injected["drop"] += 1
                sandbox.stats.record(endpoint, "dropped")
                await _drop_connection(send)
                return
            if fault.status is not None:
                sandbox.stats.faults_injected[str(fault.status)] += 1
                response = _fault_response(fault, correlation_id)
                await response({"type": "http"}, _no_receive, send_with_headers)
                sandbox.stats.record(endpoint, fault.status, fault.policy if fault.status == 429 else None)
                return
        try:
            with writing_as(integration_source(token)):  # history attributes writes to the token's app
                await self.app(scope, receive, send_with_headers)
        finally:
            sandbox.stats.record(endpoint, status_seen.get("status", 500))

    async def _apply_then_lose(
        self, scope: Scope, receive: Receive, send: Send, fault: Fault, endpoint: str, correlation_id: str
    ) -> None:
        """Run the call (its write commits), then lose its answer: drop the connection or send a 5xx."""

        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        kind = "drop" if fault.drop else str(fault.status)
        self.sandbox.stats.faults_injected[f"{kind} after apply"] += 1
        if fault.drop or fault.status is None:
            self.sandbox.stats.record(endpoint, "dropped")
            await _drop_connection(send)
            return
        response = _fault_response(fault, correlation_id)
        response.raw_headers.append((b"x-hubspot-correlation-id", correlation_id.encode()))
        await response({"type": "http"}, _no_receive, send)
        self.sandbox.stats.record(endpoint, fault.status)

    def _template(self, scope: Scope) -> tuple[str, dict[str, str]]:
        """The path template of the route that answers, and its path parameters."""
        partial: tuple[str, dict[str, str]] | None = None
        for route in self.app.router.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return route.path, child.get("path_params", {})  # type: ignore[attr-defined]
            if match == Match.PARTIAL and partial is None:
                partial = (route.path, child.get("path_params", {}))  # type: ignore[attr-defined]
        return partial or (UNMATCHED, {})

    @staticmethod
    async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
        response = json_response(body, status)
        await response({"type": "http"}, _no_receive, send)


def _fault_response(fault: Fault, correlation_id: str) -> Response:
    """The answer an injected error status gets: HubSpot's JSON body, or the CDN's HTML page."""
    assert fault.status is not None
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    category, message = FAULT_MESSAGES[fault.status]
    if fault.html:
        title = f"{fault.status}: {message}"
        page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return Response(page, fault.status, headers=headers, media_type="text/html")
    if fault.status == 429:
        return json_response(rate_limit_body(fault.policy, correlation_id), 429, headers)
    return json_response(
        ApiError(fault.status, category, message).body(correlation_id), fault.status, headers
    )


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def _drop_connection(send: Send) -> None:
    """Start a response that promises a body, send part of it, and stop: the server then closes the socket,
    so the client sees the connection break mid-response (an IncompleteRead / RemoteProtocolError)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"results":[', "more_body": True})


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class _DroppedResponseFilter(logging.Filter):
    """Uvicorn logs an error for every deliberately dropped response; that noise hides real errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def quiet_deliberate_drops() -> None:
    logging.getLogger("uvicorn.error").addFilter(_DroppedResponseFilter())
