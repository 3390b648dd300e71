"""The kinds of difference reconciliation finds, how one record's facts are classified, and the policy.

Pure: `classify` turns what both sides say about one id into the kinds of drift it shows; the SQL
comparison only streams the ids where the two sides disagree at all. `ReconcilePolicy` is the
`reconcile:` section of the sync configuration (imported by hubspot_sync.config, never the other way).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    MISSING = "missing"  # in HubSpot (live or archived), no row in PostgreSQL
    EXTRA = "extra"  # a row in PostgreSQL, in HubSpot nowhere: permanently deleted
    STALE = "stale"  # PostgreSQL holds an older version
    NEWER_IN_WAREHOUSE = "newer_in_warehouse"  # PostgreSQL's last-modified is later than HubSpot's
    ARCHIVED_DIFFERS = "archived_differs"  # archived on one side, live on the other
    MERGED_DIFFERS = "merged_differs"  # merged away on one side only
    VALUES_DIFFER = "values_differ"  # same last-modified, different typed values: a missed update
    ASSOCIATION_MISSING = "association_missing"
    ASSOCIATION_EXTRA = "association_extra"
    PUSHED_OVERWRITTEN = "pushed_overwritten"  # a value reverse ETL pushed was since changed in HubSpot


Action = Literal["report", "repair"]


class ReconcilePolicy(BaseModel):
    """Per kind: `report` records the finding only; `repair` also fixes it (the default for most).

    A pushed value overwritten in HubSpot is only reported by default: someone chose to change it.
    Repairing it applies the owning model's `on_overwrite` rule (re-push or accept HubSpot's value).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing: Action = "repair"
    extra: Action = "repair"
    stale: Action = "repair"
    archived_differs: Action = "repair"
    merged_differs: Action = "repair"
    values_differ: Action = "repair"
    association_missing: Action = "repair"
    association_extra: Action = "repair"
    pushed_overwritten: Action = "report"
    # Rows of permanently deleted records are removed only while they are at most this share of the
    # records HubSpot holds: more looks like a wrong token or account, and is reported instead.
    max_delete_share: float = Field(0.05, ge=0, le=1)

    def actions(self, mode: str | None) -> dict[Kind, Action]:
        """Each kind's action for one run; `mode` (`report` or `repair`) overrides the configuration."""
        configured = {kind: getattr(self, kind.value, "report") for kind in Kind}
        if mode in ("report", "repair"):
            return dict.fromkeys(Kind, mode)
        return configured


# Kinds the landing code cannot repair: it never lets an older version overwrite a newer one, and
# never revives an id once merged away. They are reported, with the reason, whatever the policy says.
NOT_REPAIRABLE = {
    Kind.NEWER_IN_WAREHOUSE: "the landing code never overwrites a newer version with an older one",
}


@dataclass(frozen=True)
class RecordFacts:
    """What each side says about one id (None: that side has no such record)."""

    record_id: int
    hubspot_archived: bool | None
    hubspot_updated_at: datetime | None
    hubspot_merged_into: int | None  # survivor naming this id in hs_merged_object_ids
    warehouse_archived: bool | None
    warehouse_updated_at: datetime | None
    warehouse_merged_into: int | None
    values_differ: bool | None = None  # None when values were not compared
    fields: list[str] | None = None  # typed columns whose values differ

    @property
    def in_hubspot(self) -> bool:
        return self.hubspot_archived is not None

    @property
    def in_warehouse(self) -> bool:
        return self.warehouse_archived is not None


def classify(facts: RecordFacts) -> list[Kind]:
    """The kinds of drift one id shows; empty when both sides agree."""
    if not facts.in_warehouse:
        return [Kind.MISSING] if facts.in_hubspot else []
    if not facts.in_hubspot:
        if facts.hubspot_merged_into is not None:
            return [] if facts.warehouse_merged_into is not None else [Kind.MERGED_DIFFERS]
        return [Kind.EXTRA]
    if facts.warehouse_merged_into is not None or facts.hubspot_merged_into is not None:
        # HubSpot still holds the id as a record while a side says it was merged away.
        return [Kind.MERGED_DIFFERS]
    kinds = []
    if facts.hubspot_archived != facts.warehouse_archived:
        kinds.append(Kind.ARCHIVED_DIFFERS)
    if facts.warehouse_updated_at < facts.hubspot_updated_at:
        kinds.append(Kind.STALE)
    elif facts.warehouse_updated_at > facts.hubspot_updated_at:
        kinds.append(Kind.NEWER_IN_WAREHOUSE)
    elif facts.values_differ:
        kinds.append(Kind.VALUES_DIFFER)
    return kinds


def drift_share(counts: dict[str, int], records: int) -> float:
    """Findings per record HubSpot holds (an empty account with findings counts them against one)."""
    return sum(counts.values()) / max(records, 1)
