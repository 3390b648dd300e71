"""Who wrote a value: the ``sourceType``/``sourceId`` HubSpot keeps with every entry of a property's history.

A write through the API is attributed to the app behind the token (``INTEGRATION``, the app's id as
``sourceId``); a person editing in HubSpot is ``CRM_UI`` with ``sourceId`` ``userId:<id>`` and
``updatedByUserId``; seeded records are ``IMPORT``. The source of the request being answered lives in a
context variable that the API gate sets from the bearer token, so every write path records it without
threading it through each handler. Sources are interned: a million history entries share a few objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# The sourceType values HubSpot reports in property history (the common ones; HubSpot knows more).
SOURCE_TYPES = frozenset(
    {
        "API",
        "ANALYTICS",
        "AUTOMATION_PLATFORM",
        "BATCH_UPDATE",
        "CALCULATED",
        "CONTACTS_WEB",
        "CRM_UI",
        "EMAIL",
        "FORM",
        "IMPORT",
        "INTEGRATION",
        "MERGE_CONTACTS",
        "MERGE_COMPANIES",
        "MIGRATION",
        "MOBILE_ANDROID",
        "MOBILE_IOS",
        "SALES",
        "SALESFORCE",
        "WORKFLOWS",
    }
)


@dataclass(frozen=True, slots=True)
class Source:
    source_type: str
    source_id: str | None = None
    user_id: int | None = None

    def history_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"sourceType": self.source_type}
        if self.source_id is not None:
            fields["sourceId"] = self.source_id
        if self.user_id is not None:
            fields["updatedByUserId"] = self.user_id
        return fields


IMPORT = Source("IMPORT")
CALCULATED = Source("CALCULATED")
API = Source("API")


@lru_cache(maxsize=256)
def integration_source(token: str) -> Source:
    """The private app behind a token: a stable numeric app id derived from it, never the token itself."""
    app_id = int.from_bytes(hashlib.sha256(token.encode()).digest()[:4], "big") % 9_000_000 + 1_000_000
    return Source("INTEGRATION", str(app_id))


@lru_cache(maxsize=256)
def user_source(user_id: int) -> Source:
    return Source("CRM_UI", f"userId:{user_id}", user_id=user_id)


@lru_cache(maxsize=256)
def named_source(source_type: str, user_id: int | None = None) -> Source:
    """A source chosen through the control API; a user id makes it that person's write."""
    if source_type == "CRM_UI" and user_id is not None:
        return user_source(user_id)
    return Source(source_type, None if user_id is None else f"userId:{user_id}", user_id=user_id)


_current: ContextVar[Source] = ContextVar("hubspot_sandbox_write_source", default=API)


def current_source() -> Source:
    """The source of the write being made now (``API`` outside any request)."""
    return _current.get()


@contextmanager
def writing_as(source: Source) -> Iterator[None]:
    reset = _current.set(source)
    try:
        yield
    finally:
        _current.reset(reset)
