"""Airflow assets for the mirrored tables, so downstream DAGs can be scheduled on fresh HubSpot data.

URI: `hubspot-sync://warehouse/hubspot/<table>` (the table in schema `hubspot` of the warehouse
connection); name: `hubspot.<table>`. An extraction task that succeeds updates its table's asset,
whether or not the run changed a row: "the mirror is current up to this run", not "rows changed".
"""

from __future__ import annotations

from airflow.sdk import Asset

from hubspot_sync.objects import ASSOCIATION_TYPES

URI_PREFIX = "hubspot-sync://warehouse/hubspot/"


def mirror_asset(table: str) -> Asset:
    """The asset of one table in schema `hubspot` (an object type, or an association table)."""
    return Asset(uri=f"{URI_PREFIX}{table}", name=f"hubspot.{table}", group="hubspot")


def association_assets(enabled_objects: list[str]) -> list[Asset]:
    """The association tables whose two object types are both extracted."""
    enabled = set(enabled_objects)
    return [
        mirror_asset(association.table)
        for association in ASSOCIATION_TYPES
        if {association.from_type, association.to_type} <= enabled
    ]
