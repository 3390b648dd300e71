"""Progress lines: a steady cadence (time or share of a known total), never one per batch."""

import logging

import pytest

from hubspot_sync.progress import Progress


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize(
    ("total", "batches", "seconds_per_batch", "expected_lines"),
    [
        (None, 100, 1.0, 3),  # 100 s of work, a line every 30 s
        (100_000, 50, 0.1, 10),  # 5 s of work: a line at every tenth of the total
        (None, 20, 0.1, 0),  # short work without a total logs nothing
    ],
)
def test_lines_come_at_a_steady_cadence(total, batches, seconds_per_batch, expected_lines):
    clock = Clock()
    progress = Progress("contacts extraction", clock=clock)
    per_batch = (total or 100_000) // batches
    lines = []
    for batch in range(1, batches + 1):
        clock.now += seconds_per_batch
        line = progress.update(batch * per_batch, total)
        if line:
            lines.append(line)
    assert len(lines) == expected_lines


def test_a_line_says_how_far_how_fast_and_how_long_to_go(caplog):
    clock = Clock()
    progress = Progress("contacts extraction", clock=clock)
    clock.now += 40
    with caplog.at_level(logging.INFO, logger="hubspot_sync.progress"):
        line = progress.update(20_000, 100_000)
    assert line == "contacts extraction: 20,000 records of 100,000 (20%), 500/s, 40s elapsed, ETA 2m40s"
    assert caplog.messages == [line]
    clock.now += 3600
    assert progress.describe(40_000, None) == "contacts extraction: 40,000 records, 11/s, 1h00m elapsed"
