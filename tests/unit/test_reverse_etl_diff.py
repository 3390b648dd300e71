"""Diffing a model's rows against push state: pure, no services."""

import pytest

from hubspot_sync.reverse_etl.diff import Change, PushState, changed_properties, plan_changes


def plan(rows, state, *, mode="update", on_leave="keep", max_attempts=3, properties=("score", "tier")):
    """The engine's inputs from plain dicts: every row is a candidate; state keys absent from rows left."""
    candidates = [(key, rows[key], state.get(key)) for key in sorted(rows)]
    leaving = [(key, state[key]) for key in sorted(state.keys() - rows.keys())]
    return plan_changes(
        candidates, leaving, properties=properties, mode=mode, on_leave=on_leave, max_attempts=max_attempts
    )


def test_only_changed_properties_are_sent_and_never_pushed_empties_cost_nothing():
    assert changed_properties({"score": "5", "tier": "gold"}, {"score": "5", "tier": "silver"}) == {
        "tier": "gold"
    }
    assert changed_properties({"score": ""}, {}) == {}
    assert changed_properties({"score": ""}, {"score": "5"}) == {"score": ""}


def test_plan_sends_new_and_changed_rows_and_counts_the_rest():
    rows = {"1": {"score": "5", "tier": "gold"}, "2": {"score": "6", "tier": "gold"}, "3": {"score": "7"}}
    state = {"1": PushState({"score": "5", "tier": "gold"}), "2": PushState({"score": "5", "tier": "gold"})}

    result = plan(rows, state, mode="upsert")

    assert result.changes == [
        Change("2", "upsert", {"score": "6"}, {"score": "5"}),
        Change("3", "upsert", {"score": "7"}, {"score": None}),
    ]
    assert (result.unchanged, result.held, result.left) == (1, 0, 0)


@pytest.mark.parametrize("mode", ["update", "upsert"])
def test_rows_that_leave_are_kept_unless_the_model_clears_them(mode):
    state = {"9": PushState({"score": "5", "tier": "", "old_property": "x"})}

    kept = plan({}, state, mode=mode)
    cleared = plan({}, state, mode=mode, on_leave="clear")

    assert kept.changes == []
    assert kept.left == 1
    assert plan({}, {"9": PushState({"score": ""})}, on_leave="clear").changes == []
    # A clear is always an update: it must not create a record; only mapped, non-empty values are cleared.
    assert cleared.changes == [Change("9", "update", {"score": ""}, {"score": "5"})]


def test_values_refused_max_attempts_times_are_held_until_they_change():
    failing = PushState({"score": "1"}, failed_values={"score": "2"}, failed_attempts=3)

    assert plan({"1": {"score": "2"}}, {"1": failing}).held == 1
    assert plan({"1": {"score": "2"}}, {"1": failing}, max_attempts=4).changes != []
    retried = plan({"1": {"score": "3"}}, {"1": failing})
    assert retried.changes == [Change("1", "update", {"score": "3"}, {"score": "1"})]
