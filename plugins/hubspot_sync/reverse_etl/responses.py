"""Pure construction of batch inputs and reading of batch answers: which input failed, and why.

HubSpot writes a batch all or nothing: an invalid input fails the whole call with one 400 (a create that
hits an existing unique value, with a 409). Such a refusal is read by `read_refusal`: the inputs its
`errors[]`/`context.ids` name, if any, and whether splitting the batch can isolate the bad inputs (it
names properties, or is a conflict) or the call itself is wrong (then every input failed).

A 207 (a batch update whose records no longer exist) names its failed inputs in `context.ids` (the ids
as sent). Results cannot always be matched back to inputs (an update by email returns record ids), so an
input counts as accepted when no error names it. An error that names no input makes the whole batch
unconfirmed: every input is then treated as failed and sent again on the next run, which is harmless
because the values are the same.

Reasons keep HubSpot's category, error codes and property names, never the values it quotes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hubspot_sync.reverse_etl.diff import Change
from hubspot_sync.reverse_etl.model_config import RECORD_ID

MAX_REASON_LENGTH = 300
_INVALID_VALUES = "Property values were not valid: "


@dataclass(frozen=True)
class InputError:
    category: str
    reason: str
    correlation_id: str | None


def batch_input(change: Change, wire_values: dict[str, str], key_property: str) -> dict[str, Any]:
    body: dict[str, Any] = {"id": change.key, "properties": wire_values}
    if key_property != RECORD_ID:
        body["idProperty"] = key_property
    return body


def input_errors(
    keys: list[str], status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, InputError]:
    """The failed inputs of one batch answer, by key; an empty dict when every input was accepted.

    A 207's error entries carry no correlationId of their own: the response's header one is used.
    """
    errors = body.get("errors") or []
    if status < 300 and not errors and not body.get("numErrors"):
        return {}
    by_id = {key.lower(): key for key in keys}
    correlation_id = body.get("correlationId") or (headers or {}).get("x-hubspot-correlation-id")
    failed: dict[str, InputError] = {}
    unattributed: InputError | None = None
    for error in errors:
        if not isinstance(error, dict):
            continue
        problem = InputError(
            category=str(error.get("category") or "ERROR"),
            reason=describe_error(error),
            correlation_id=error.get("correlationId") or correlation_id,
        )
        ids = ((error.get("context") or {}).get("ids")) or []
        named = [by_id[str(raw).lower()] for raw in ids if str(raw).lower() in by_id]
        if not named:
            unattributed = unattributed or problem
        for key in named:
            failed.setdefault(key, problem)
    if unattributed is not None or (not errors and status >= 300):
        problem = unattributed or InputError("UNKNOWN", f"HTTP {status} with no error list", correlation_id)
        for key in keys:
            failed.setdefault(key, problem)
    return failed


@dataclass(frozen=True)
class Refusal:
    """A batch HubSpot refused whole (400 or 409)."""

    problem: InputError  # the refusal as a whole, for inputs it does not name
    named: dict[str, InputError]  # the inputs it names, by key as sent
    splittable: bool  # smaller batches can isolate the bad inputs


def read_refusal(
    keys: list[str], status: int | None, body: dict[str, Any], correlation_id: str | None, fallback: str
) -> Refusal:
    """What a 400/409 for a batch of `keys` says: which inputs it names, and whether splitting can help."""
    correlation_id = body.get("correlationId") or correlation_id
    category = str(body.get("category") or f"HTTP_{status}")
    problem = InputError(
        category, describe_error(body) if body else fallback[:MAX_REASON_LENGTH], correlation_id
    )
    by_id = {key.lower(): key for key in keys}
    reasons: dict[str, list[str]] = {}
    categories: dict[str, str] = {}
    details = [d for d in body.get("errors") or [] if isinstance(d, dict)]
    for detail in details:
        code = str(detail.get("code") or detail.get("category") or category)
        prop = detail.get("in") or next(iter((detail.get("context") or {}).get("propertyName") or []), None)
        for raw in (detail.get("context") or {}).get("ids") or []:
            key = by_id.get(str(raw).lower())
            if key is None:
                continue
            reasons.setdefault(key, []).append(f"{prop}: {code}" if prop else code)
            if code == "OBJECT_NOT_FOUND":
                categories[key] = code
    if not reasons:  # no entry names an input: the top-level context may
        for raw in (body.get("context") or {}).get("ids") or []:
            key = by_id.get(str(raw).lower())
            if key is not None:
                reasons.setdefault(key, []).append(problem.reason)
    named = {
        key: InputError(
            categories.get(key, category), "; ".join(dict.fromkeys(texts))[:MAX_REASON_LENGTH], correlation_id
        )
        for key, texts in reasons.items()
    }
    names_properties = bool((body.get("context") or {}).get("propertyName")) or any(
        d.get("in") or (d.get("context") or {}).get("propertyName") for d in details
    )
    names_properties = names_properties or str(body.get("message") or "").startswith(_INVALID_VALUES)
    return Refusal(problem, named, splittable=status == 409 or names_properties)


def describe_error(error: dict[str, Any]) -> str:
    """HubSpot's reason for a failed input, without the values it quotes (they may be personal data)."""
    message = str(error.get("message") or "")
    if message.startswith(_INVALID_VALUES):
        try:
            problems = json.loads(message[len(_INVALID_VALUES) :])
            return "; ".join(f"{p.get('name')}: {p.get('error')}" for p in problems)[:MAX_REASON_LENGTH]
        except (ValueError, AttributeError, TypeError):
            pass
    category = str(error.get("category") or "ERROR")
    if category == "OBJECT_NOT_FOUND":
        return "OBJECT_NOT_FOUND: no such record in HubSpot (deleted, merged away or never created)"
    names = (error.get("context") or {}).get("propertyName") or []
    detail = f" (properties: {', '.join(map(str, names))})" if names else ""
    return f"{category}{detail}: {message}"[:MAX_REASON_LENGTH]


def whole_batch_error(keys: list[str], category: str, reason: str, correlation_id: str | None) -> dict:
    problem = InputError(category, reason[:MAX_REASON_LENGTH], correlation_id)
    return dict.fromkeys(keys, problem)
