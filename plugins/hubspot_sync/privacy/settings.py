"""`retention:` in the sync configuration: how long each kind of bookkeeping row is kept, in days."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RetentionPolicy(BaseModel):
    """Rows older than these ages are deleted nightly by `hubspot_reconcile` (task prune_retention).

    Rejects age from the last time the record was refused: one still refused is kept.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    push_audit_days: int = Field(90, ge=1, le=36500)
    push_preview_days: int = Field(30, ge=1, le=36500)
    rejects_days: int = Field(30, ge=1, le=36500)
    run_metrics_days: int = Field(400, ge=1, le=36500)
    conflicts_days: int = Field(90, ge=1, le=36500)
    reconcile_findings_days: int = Field(90, ge=1, le=36500)
    # Rows deleted per statement (and transaction): each holds its row locks for a moment only.
    batch_rows: int = Field(5000, ge=1, le=100000)

    def ages(self) -> dict[str, int]:
        """Table -> days."""
        return {
            "push_audit": self.push_audit_days,
            "push_preview": self.push_preview_days,
            "rejects": self.rejects_days,
            "run_metrics": self.run_metrics_days,
            "conflicts": self.conflicts_days,
            "reconcile_findings": self.reconcile_findings_days,
        }
