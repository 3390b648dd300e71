"""HubSpot-shaped error bodies, and the exception handlers raise to produce them.

Every error HubSpot sends carries ``status``, ``message``, ``correlationId`` and usually ``category``;
batch errors (inside a 207) must also carry ``context``, ``links`` and ``errors`` because the SDK's
``StandardError`` model refuses to deserialize without them.
"""

from __future__ import annotations

import uuid
from typing import Any


def new_correlation_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    """An error answer: raised anywhere below a route, rendered by the app's exception handler."""

    def __init__(
        self,
        status_code: int,
        category: str,
        message: str,
        *,
        context: dict[str, list[str]] | None = None,
        sub_category: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.category = category
        self.message = message
        self.context = context
        self.sub_category = sub_category
        self.extra = extra or {}

    def body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.context:
            body["context"] = self.context
        body.update(self.extra)
        return body


def validation_error(message: str, **kwargs: Any) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, **kwargs)


def not_found(message: str, **kwargs: Any) -> ApiError:
    return ApiError(404, "OBJECT_NOT_FOUND", message, **kwargs)


def unauthorized() -> ApiError:
    return ApiError(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
        "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )


def batch_error(category: str, message: str, context: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """One entry of a batch response's ``errors`` list (the SDK's ``StandardError``)."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context or {},
        "errors": [],
        "links": {},
    }
