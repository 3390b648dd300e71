"""Classification of what both sides say about one id, and the per-kind policy."""

from datetime import UTC, datetime, timedelta

import pytest

from hubspot_sync.reconcile.kinds import Kind, ReconcilePolicy, RecordFacts, classify, drift_share

T0 = datetime(2026, 3, 1, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)


def facts(hubspot=(False, T0, None), warehouse=(False, T0, None), values_differ=False):
    """(archived, updated_at, merged_into) per side; None for a side without the record."""
    hs = hubspot or (None, None, None)
    pg = warehouse or (None, None, None)
    return RecordFacts(1, hs[0], hs[1], hs[2], pg[0], pg[1], pg[2], values_differ)


@pytest.mark.parametrize(
    ("record", "kinds"),
    [
        (facts(), []),
        (facts(warehouse=None), [Kind.MISSING]),
        (facts(hubspot=(True, T0, None), warehouse=None), [Kind.MISSING]),
        (facts(hubspot=None), [Kind.EXTRA]),
        (facts(hubspot=None, warehouse=(True, T0, 9)), [Kind.EXTRA]),  # merged, survivor gone too
        (facts(hubspot=(None, None, 9)), [Kind.MERGED_DIFFERS]),  # merge the mirror missed
        (facts(hubspot=(None, None, 9), warehouse=(True, T0, 9)), []),
        (facts(warehouse=(True, T0, 9)), [Kind.MERGED_DIFFERS]),  # HubSpot still has it
        (facts(warehouse=(False, T0, None), hubspot=(False, T1, None)), [Kind.STALE]),
        (facts(warehouse=(False, T1, None)), [Kind.NEWER_IN_WAREHOUSE]),
        (facts(hubspot=(True, T1, None)), [Kind.ARCHIVED_DIFFERS, Kind.STALE]),
        (facts(warehouse=(True, T0, None)), [Kind.ARCHIVED_DIFFERS]),
        (facts(values_differ=True), [Kind.VALUES_DIFFER]),
        (facts(hubspot=(False, T1, None), values_differ=True), [Kind.STALE]),  # the re-read brings values
        (facts(values_differ=None), []),  # values not compared
    ],
)
def test_classify(record, kinds):
    assert classify(record) == kinds


def test_no_record_on_either_side_is_no_finding():
    assert classify(facts(hubspot=None, warehouse=None)) == []


@pytest.mark.parametrize("mode", ["report", "repair"])
def test_mode_overrides_every_kind(mode):
    assert set(ReconcilePolicy(pushed_overwritten="repair", extra="report").actions(mode).values()) == {mode}


def test_configured_actions_and_defaults():
    actions = ReconcilePolicy(extra="report").actions(None)
    assert actions[Kind.EXTRA] == "report"
    assert actions[Kind.MISSING] == "repair"
    assert actions[Kind.PUSHED_OVERWRITTEN] == "report"  # a person chose that value: reported by default


def test_drift_share_counts_findings_per_record():
    assert drift_share({"missing": 1, "stale": 2}, 300) == 0.01
    assert drift_share({"missing": 1}, 0) == 1.0
