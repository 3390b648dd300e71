"""Private app scopes: what each token may do, what each API call needs, and HubSpot's 403 when they differ.

A token is given as ``TOKEN`` (every scope) or ``TOKEN:scope,scope`` (only those). A call needs one of the
scopes HubSpot lists for it: the object's read or write scope for records, search, batches and associations
(``tickets`` for tickets, ``crm.objects.line_items.*`` or the older ``e-commerce`` for line items), and the
``crm.schemas.*`` scopes for property definitions. Associations need the scope of the record they start from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from hubspot_sandbox.errors import ApiError
from hubspot_sandbox.object_types import resolve_object_type

Grants = Mapping[str, frozenset[str] | None]  # token -> its scopes, None: every scope
Access = Literal["read", "write"]

SCOPES_DOC = "https://developers.hubspot.com/scopes"
_OBJECT_SCOPES: dict[str, dict[Access, tuple[str, ...]]] = {
    "contacts": {"read": ("crm.objects.contacts.read",), "write": ("crm.objects.contacts.write",)},
    "companies": {"read": ("crm.objects.companies.read",), "write": ("crm.objects.companies.write",)},
    "deals": {"read": ("crm.objects.deals.read",), "write": ("crm.objects.deals.write",)},
    "tickets": {"read": ("tickets",), "write": ("tickets",)},
    "line_items": {
        "read": ("crm.objects.line_items.read", "e-commerce"),
        "write": ("crm.objects.line_items.write", "e-commerce"),
    },
}
_SCHEMA_SCOPES: dict[str, dict[Access, tuple[str, ...]]] = {
    "contacts": {"read": ("crm.schemas.contacts.read",), "write": ("crm.schemas.contacts.write",)},
    "companies": {"read": ("crm.schemas.companies.read",), "write": ("crm.schemas.companies.write",)},
    "deals": {"read": ("crm.schemas.deals.read",), "write": ("crm.schemas.deals.write",)},
    "tickets": {"read": ("tickets",), "write": ("tickets",)},
    "line_items": {"read": ("e-commerce",), "write": ("e-commerce",)},
}
KNOWN_SCOPES = frozenset(
    scope
    for table in (_OBJECT_SCOPES, _SCHEMA_SCOPES)
    for by_access in table.values()
    for scopes in by_access.values()
    for scope in scopes
)
# POSTs that only read.
_READING_POSTS = ("/search", "/batch/read")


def parse_token(spec: str) -> tuple[str, frozenset[str] | None]:
    """``TOKEN`` or ``TOKEN:scope,scope`` -> (token, scopes or None for every scope)."""
    token, has_scopes, scopes = spec.strip().partition(":")
    if not token:
        raise ValueError("a token spec needs a token before ':'")
    if not has_scopes:
        return token, None
    return token, frozenset(part.strip() for part in scopes.replace(" ", ",").split(",") if part.strip())


def read_token_file(path: str | Path) -> list[str]:
    """One token spec a line; blank lines and ``#`` comments are skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def parse_grants(specs: Iterable[str]) -> dict[str, frozenset[str] | None]:
    grants: dict[str, frozenset[str] | None] = {}
    for spec in specs:
        token, scopes = parse_token(spec)
        if token in grants:
            raise ValueError("the same token is given twice")
        grants[token] = scopes
    return grants


def required_scopes(method: str, template: str, params: Mapping[str, str]) -> tuple[str, ...]:
    """The scopes of which a call needs one; empty when it needs none the sandbox knows (the route then
    answers for itself, e.g. 400 for an object type it does not serve)."""
    raw_type = params.get("objectType") or params.get("fromObjectType")
    if not raw_type or not template.startswith("/crm/"):
        return ()
    try:
        object_type = resolve_object_type(raw_type).name
    except ApiError:
        return ()
    reads = method == "GET" or (method == "POST" and template.endswith(_READING_POSTS))
    access: Access = "read" if reads else "write"
    table = _SCHEMA_SCOPES if template.startswith("/crm/v3/properties/") else _OBJECT_SCOPES
    return table[object_type][access]


def missing_scopes(granted: frozenset[str] | None, required: tuple[str, ...]) -> bool:
    return bool(required) and granted is not None and granted.isdisjoint(required)


def missing_scopes_error(required: tuple[str, ...]) -> ApiError:
    """HubSpot's 403 body for a token without the scope a call needs."""
    return ApiError(
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. Read more about required "
        f"scopes here: {SCOPES_DOC}.",
        extra={
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredScopes": list(required)},
                }
            ],
            "links": {"scopes": SCOPES_DOC},
        },
    )
