"""The rolling association sweep: every live source record's associations read once per period.

HubSpot does not bump last-modified when an association is added or removed, so only reading the
associations again finds such a change. Reading all of them every run costs ceil(records / 1000)
calls per association type per run (a v4 batch read takes 1,000 records); the sweep instead reads a
slice each run, in id order from where the last one stopped, sized by the time since the last run:
each run adds `live records * elapsed / period` to what the sweep owes, and reads it 1,000 records a
call (a smaller remainder is carried to the next run, unless it finishes the pass). So each record is
read once per period whatever the schedule, and a day costs about
`ceil(live records / 1000) * 24 h / period` calls per association type: for 1M contacts and 1M deals
with the default 24 h (contact->company, deal->contact, deal->company), 3,000 calls, under 0.5% of
Professional's 650,000. What one run owes is capped at one whole pass, so a long pause never turns
into a sweep of more than the account. A period of 0 reads every record every run, from the first id.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from hubspot_sync.extract import store
from hubspot_sync.objects import AssociationType
from hubspot_sync.sql import load_sql

# Float owed counts: 0.999999... of a record is one record.
_EPSILON = 1e-6


@dataclass
class SweepState:
    after_id: int
    owed: float
    swept_at_ms: int | None
    passes: int
    inline_run_id: str | None


def read_state(conn: psycopg.Connection, association: AssociationType) -> SweepState:
    params = {"table": association.table}
    conn.execute(load_sql("extract/sweep_ensure"), params)
    row = conn.execute(load_sql("extract/sweep_state"), params).fetchone()
    return SweepState(*row)


def save_state(
    conn: psycopg.Connection, association: AssociationType, state: SweepState, wrapped: bool
) -> None:
    conn.execute(
        load_sql("extract/sweep_save"),
        {
            "table": association.table,
            "after_id": state.after_id,
            "owed": state.owed,
            "swept_at_ms": state.swept_at_ms,
            "passes": state.passes,
            "wrapped": wrapped,
        },
    )


def mark_inline(conn: psycopg.Connection, association: AssociationType, run_id: str) -> None:
    """Record that `run_id` read the associations of every source record it landed, inline."""
    conn.execute(load_sql("extract/sweep_mark_inline"), {"table": association.table, "run_id": run_id})


def live_counts(conn: psycopg.Connection, association: AssociationType, after_id: int) -> tuple[int, int]:
    """(live source records, those after `after_id`)."""
    query = sql.SQL(load_sql("extract/live_count")).format(table=store.table_id(association.from_type))
    live, ahead = conn.execute(query, {"after_id": after_id}).fetchone()
    return int(live), int(ahead)


def accrue(state: SweepState, live: int, now_ms: int, period_ms: int) -> None:
    """Add what the time since the last run owes; a period of 0 owes everything, from the start."""
    if period_ms <= 0:
        state.after_id, state.owed = 0, float(live)
    elif state.swept_at_ms is not None:
        elapsed = max(0, now_ms - state.swept_at_ms)
        state.owed = min(float(live), state.owed + live * elapsed / period_ms)
    state.swept_at_ms = now_ms


def next_slice(state: SweepState, ahead: int, batch_size: int) -> int:
    """How many records to read next: 0 until a whole batch of `batch_size` is owed, or what finishes
    the pass."""
    threshold = min(batch_size, ahead) if ahead else batch_size
    if state.owed + _EPSILON < threshold or state.owed < _EPSILON:
        return 0
    return min(batch_size, max(1, math.floor(state.owed + _EPSILON)))


class Slices:
    """This run's slice as batches of source ids in id order, each with the state to save when it lands.

    Planning a batch moves `state` past it, so batches can be read ahead of their landing: each comes
    with a copy of the state as it stands once that batch is in, and whether it starts a new pass.
    Not responsible for reading or landing them.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        association: AssociationType,
        state: SweepState,
        live: int,
        ahead: int,
        batch_size: int,
    ) -> None:
        self.conn, self.association, self.state = conn, association, state
        self.live, self.ahead, self.batch_size = live, ahead, batch_size
        self.wrapped_at_end = False  # the slice ended just as a new pass began

    def __iter__(self) -> Iterator[tuple[list[int], SweepState, bool]]:
        state, wraps = self.state, 0
        while True:
            wrapped = False
            if self.ahead == 0 and self.live and wraps < 2:  # the pass is complete: the next starts anew
                state.after_id, state.passes, self.ahead, wrapped = 0, state.passes + 1, self.live, True
                wraps += 1
            size = next_slice(state, self.ahead, self.batch_size)
            if size == 0 or self.ahead == 0:
                self.wrapped_at_end = wrapped
                return
            with self.conn.transaction():
                from_ids = store.live_ids(self.conn, self.association, state.after_id, size)
            if not from_ids:  # archived since they were counted
                self.ahead = 0
                continue
            state.after_id = from_ids[-1]
            state.owed = max(0.0, state.owed - len(from_ids))
            self.ahead = max(0, self.ahead - len(from_ids))
            yield from_ids, dataclasses.replace(state), wrapped
