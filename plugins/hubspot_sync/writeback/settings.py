"""The `two_way:` block of an object type in the sync configuration: which columns are edited on both
sides, and which side wins when both changed a field since they last agreed.

Kept apart from `hubspot_sync.config` (which embeds it and imports from here, never the other way
round). A rule decides conflicts only: an edit made in PostgreSQL to a field HubSpot did not change
is always pushed, whatever the rule.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hubspot_sync.reverse_etl.model_config import PropertyName

Rule = Literal["hubspot_wins", "postgres_wins", "last_write_wins"]
FieldRule = Literal["hubspot_wins", "postgres_wins", "last_write_wins", "default"]
RULES: tuple[str, ...] = ("hubspot_wins", "postgres_wins", "last_write_wins")
DEFAULT = "default"
# Properties HubSpot computes or stamps itself: never writable, so never two-way.
READ_ONLY_PROPERTIES = frozenset(
    {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_merged_object_ids"}
)


class TwoWay(BaseModel):
    """`rule` is the object's default; `fields` maps each two-way column to a rule or `default`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Rule = "last_write_wins"
    fields: dict[PropertyName, FieldRule] = Field(default_factory=dict)

    def rules(self) -> dict[str, str]:
        """Every two-way column with the rule that settles its conflicts."""
        return {name: self.rule if rule == DEFAULT else rule for name, rule in self.fields.items()}

    def problems(self, typed_properties: dict[str, str]) -> list[str]:
        """Why some declared fields cannot be two-way (empty when all can)."""
        problems = []
        for name in self.fields:
            if name in READ_ONLY_PROPERTIES:
                problems.append(f"{name} is set by HubSpot itself and cannot be written")
            elif name not in typed_properties:
                problems.append(
                    f"{name} is not a typed column of this object; add it under properties first "
                    "(a two-way field needs a column to edit)"
                )
        return problems
