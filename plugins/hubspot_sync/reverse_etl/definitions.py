"""The HubSpot property definitions a push validates against: a cached copy, or a live read.

Reading them costs one API call per object type, and they rarely change, so a run that sends three
batches should not pay a fourth call for them every hour. The copy in hubspot_sync.push_property_cache
is used while younger than CACHE_MAX_AGE and dropped as soon as it may be wrong:
- when the copy refuses a row or the model's mapping (an option or a property may be new), the
  definitions are read live and the rows validated again before anything is sent;
- when HubSpot refuses an input as invalid (VALIDATION_ERROR), the copy is forgotten, so the next run
  reads live definitions and rejects that row before sending it.
A dry run never calls HubSpot: it uses the copy whatever its age, or checks no types when there is none.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.reverse_etl.values import PropertyDefinition
from hubspot_sync.sql import load_sql

CACHE_MAX_AGE = timedelta(hours=24)

Definitions = dict[str, PropertyDefinition]


class DefinitionSource:
    """Definitions of one object type for one run: cached first, live when asked to refresh."""

    def __init__(
        self, conn: psycopg.Connection, hubspot: HubSpotHook, object_type: str, *, dry_run: bool
    ) -> None:
        self.conn, self.hubspot, self.object_type, self.dry_run = conn, hubspot, object_type, dry_run
        self.live = False
        self._definitions: Definitions | None = None
        self._loaded = False

    @property
    def can_refresh(self) -> bool:
        return not self.dry_run and not self.live

    def current(self) -> Definitions | None:
        """The cached definitions, or live ones when the cache has none young enough; None: unknown."""
        if not self._loaded:
            self._loaded = True
            raw = self._cached(None if self.dry_run else CACHE_MAX_AGE)
            if raw is not None:
                self._definitions = _parse(raw)
            elif not self.dry_run:
                self.refresh()
        return self._definitions

    def refresh(self) -> Definitions:
        raw = self.hubspot.get_properties(self.object_type)
        with self.conn.transaction():
            self.conn.execute(
                load_sql("reverse_etl/properties/cache_upsert"),
                {"object_type": self.object_type, "definitions": Jsonb(raw)},
            )
        self.live, self._loaded = True, True
        self._definitions = _parse(raw)
        return self._definitions

    def forget(self) -> None:
        with self.conn.transaction():
            self.conn.execute(
                load_sql("reverse_etl/properties/cache_delete"), {"object_type": self.object_type}
            )

    def _cached(self, max_age: timedelta | None) -> list[dict[str, Any]] | None:
        with self.conn.transaction():
            row = self.conn.execute(
                load_sql("reverse_etl/properties/cache_select"),
                {"object_type": self.object_type, "max_age": max_age},
            ).fetchone()
        if row is None:
            return None
        return json.loads(row[0]) if isinstance(row[0], str) else row[0]


def _parse(raw: list[dict[str, Any]]) -> Definitions:
    definitions = [PropertyDefinition.from_api(item) for item in raw if not item.get("archived")]
    return {definition.name: definition for definition in definitions}
