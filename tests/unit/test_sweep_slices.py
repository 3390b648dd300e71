"""How much the rolling association sweep reads next: whole batch reads of 1,000, or what ends the pass."""

import pytest

from hubspot_sync.extract.associations import BATCH_SIZE
from hubspot_sync.extract.sweep import SweepState, accrue, next_slice


def owing(owed: float) -> SweepState:
    return SweepState(after_id=0, owed=owed, swept_at_ms=0, passes=0, inline_run_id=None)


@pytest.mark.parametrize(
    ("owed", "ahead", "size"),
    [
        (999.0, 5_000, 0),  # less than a batch read: carried to the next run
        (1_000.0, 5_000, 1_000),
        (2_600.0, 5_000, 1_000),  # one batch read at a time
        (999.9999999, 5_000, 1_000),  # float dust is a whole record
        (350.0, 350, 350),  # what finishes the pass, though less than a batch read
        (349.0, 350, 0),
        (0.0, 0, 0),
    ],
)
def test_the_sweep_reads_whole_batch_reads_or_the_end_of_the_pass(owed, ahead, size):
    assert BATCH_SIZE == 1_000
    assert next_slice(owing(owed), ahead, BATCH_SIZE) == size


def test_a_day_of_quarter_hour_runs_reads_every_record_once_in_batch_reads_of_1000():
    """1M records, a 24 h period, a run every 15 minutes: 1,000 calls a day per association type."""
    live, period_ms, quarter_ms = 1_000_000, 24 * 3_600_000, 15 * 60_000
    state = owing(0.0)
    state.swept_at_ms = 0
    calls = read = 0
    for run in range(1, 24 * 4 + 1):
        accrue(state, live, run * quarter_ms, period_ms)
        ahead = live - read
        while size := next_slice(state, ahead, BATCH_SIZE):
            calls, read = calls + 1, read + size
            state.owed -= size
            ahead -= size
    assert read == live
    assert calls == live // BATCH_SIZE
