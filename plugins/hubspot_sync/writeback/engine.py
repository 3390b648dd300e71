"""Write-back of one object type: push pending PostgreSQL edits to HubSpot, settle conflicts by rule.

The run, in order: creates (records inserted in PostgreSQL), field updates, archives. For updates, the
records concerned are read from HubSpot with the property history of the fields edited (50 a call, the
most HubSpot takes with history), each edit is decided by `rules.decide`, the losers of conflicts are
overwritten, and what must be sent goes out in batch updates of 100, isolating refused rows. What is
about to be sent is committed before each call, so a value whose answer was lost is recognised as ours
when it is read back; every outcome is committed right after its call.

Calls go out `requests_in_flight` at a time (reverse_etl.send.CallWindow) in waves of twice that many
chunks of 100 records: the wave's reads go out at once; each chunk, in order, is decided and committed
on the connection's thread as soon as its reads are in, and its updates go out while later chunks are
read; every answer is settled before the next wave reads. A chunk's reads must see what the chunks
before it wrote: chunks hold different PostgreSQL records, but two merged-away ids resolve to one
survivor, so a chunk that read a record an earlier chunk of its wave sends to (or one a chunk put off
reads) is put off to the next wave and read again. Archives, one call per 100 records, go out the same
way. With one in flight, every step runs in turn on one thread, as a loop would.

Creates: creates.py.

Not responsible for: capturing edits (triggers.py), HubSpot -> PostgreSQL (the extraction).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

import psycopg

from hubspot_sync.hooks.hubspot import ApiResponse, HubSpotHook, HubSpotRequestError
from hubspot_sync.reverse_etl.responses import describe_error
from hubspot_sync.reverse_etl.send import BATCH_SIZE, CallWindow
from hubspot_sync.run_metrics import RunInfo
from hubspot_sync.values import InvalidValue
from hubspot_sync.writeback import store
from hubspot_sync.writeback.creates import RecordCreator, record_outcome
from hubspot_sync.writeback.rules import (
    Decision,
    PendingEdit,
    clock_offset,
    decide,
    hubspot_field,
    to_json,
    to_wire,
)
from hubspot_sync.writeback.send import IsolatingUpdater
from hubspot_sync.writeback.store import Conflict, Outcome

HISTORY_BATCH = 50  # HubSpot's most inputs for a batch read with property history
GONE = ("PROPERTY_DOESNT_EXIST", "the property does not exist in HubSpot (deleted?); nothing was sent")
MERGED_IDS = "hs_merged_object_ids"
NOT_FOUND = (
    "OBJECT_NOT_FOUND",
    "no such record in HubSpot (archived, deleted, or merged into one not found)",
)


Edits = dict[int, list[PendingEdit]]  # one chunk: pending edits by PostgreSQL record id
Sending = list[tuple[PendingEdit, str]]  # edits being sent, with the HubSpot id each goes to


@dataclass(frozen=True)
class WritebackRequest:
    object_type: str
    rules: dict[str, str]  # two-way column -> conflict rule
    column_types: dict[str, str]  # every typed column of the object -> configured property type


class ObjectWriteback:
    """Runs one write-back of one object type; returns counts."""

    def __init__(
        self,
        hook: HubSpotHook,
        conn: psycopg.Connection,
        request: WritebackRequest,
        run: RunInfo,
        *,
        requests_in_flight: int = 1,
    ):
        self.hook, self.conn, self.request, self.run_info = hook, conn, request, run
        self.object_type = request.object_type
        self.requests_in_flight = requests_in_flight
        self.counts: Counter[str] = Counter()

    def run(self) -> dict[str, int]:
        RecordCreator(self.hook, self.conn, self.request, self.run_info, self.counts).run()
        self._updates()
        self._archives()
        return dict(self.counts)

    # -- updates -------------------------------------------------------------------------------

    def _updates(self) -> None:
        by_record: dict[int, list[PendingEdit]] = defaultdict(list)
        for edit in store.pending_updates(self.conn, self.object_type):
            if edit.field in self.request.rules:
                by_record[edit.record_id].append(edit)
            else:  # a column taken out of two_way while its edit waited: not sent, and said so
                self._settle(
                    [_outcome(edit, "superseded", ("NOT_TWO_WAY", "the column is no longer two-way"))]
                )
        ids = list(by_record)
        waiting = deque(
            {record_id: by_record[record_id] for record_id in ids[start : start + BATCH_SIZE]}
            for start in range(0, len(ids), BATCH_SIZE)
        )
        wave_size = 1 if self.requests_in_flight == 1 else 2 * self.requests_in_flight
        while waiting:
            wave = [waiting.popleft() for _ in range(min(wave_size, len(waiting)))]
            waiting.extendleft(reversed(self._update_wave(wave)))

    def _update_wave(self, wave: list[Edits]) -> list[Edits]:
        """Read the wave's chunks; decide, commit and send each, in order, as soon as its reads are in.
        Returns the chunks put off to the next wave."""
        reads: dict[int, dict[int, tuple[ApiResponse, float]]] = defaultdict(dict)  # chunk -> part -> answer
        parts = [math.ceil(len(edits) / HISTORY_BATCH) for edits in wave]
        sent_to: set[str] = set()  # records the wave's chunks send to
        put_off: list[Edits] = []
        put_off_reads: set[str] = set()
        decided = 0

        def arrived(index: int, start: int, answer: tuple[ApiResponse, float]) -> None:
            nonlocal decided, put_off_reads
            reads[index][start] = answer
            self.counts["read_calls"] += 1
            while decided < len(wave) and len(reads[decided]) == parts[decided] and not window.stopped:
                edits = wave[decided]
                current, offset = self._resolve(edits, reads.pop(decided))
                decided += 1
                seen = {str(record["id"]) for record in current.values()}
                if seen & (sent_to | put_off_reads):  # it may have read before an earlier chunk wrote
                    put_off.append(edits)
                    put_off_reads |= seen
                    continue
                to_send, sending = self._decide(edits, current, offset)
                if sending:
                    sent_to.update(to_send)
                    updater = IsolatingUpdater(partial(self.hook.batch_write, self.object_type, "update"))
                    window.submit(partial(_send, updater, to_send), partial(self._settle_sent, sending))

        with CallWindow(self.hook, self.requests_in_flight) as window:
            for index, edits in enumerate(wave):
                fields = sorted({edit.field for record_edits in edits.values() for edit in record_edits})
                ids = [str(record_id) for record_id in edits]
                for start in range(0, len(ids), HISTORY_BATCH):
                    read = partial(self._read, ids[start : start + HISTORY_BATCH], fields)
                    window.submit(read, partial(arrived, index, start))
        return put_off

    def _decide(
        self, edits: Edits, current: dict[int, dict], offset: timedelta
    ) -> tuple[dict[str, dict[str, str]], Sending]:
        """Decide a chunk's edits and commit the decisions; returns what to send, and for which edits."""
        outcomes: list[Outcome] = []
        conflicts: list[Conflict] = []
        hubspot_values: dict[str, dict[int, tuple[Any, datetime]]] = defaultdict(dict)
        to_send: dict[str, dict[str, str]] = defaultdict(dict)
        sending: Sending = []
        for record_id, record_edits in edits.items():
            record = current.get(record_id)
            for edit in record_edits:
                if record is None:
                    outcomes.append(_outcome(edit, "failed", NOT_FOUND))
                    continue
                if edit.field not in (record.get("properties") or {}):  # HubSpot ignores unknown names
                    outcomes.append(_outcome(edit, "failed", GONE))
                    continue
                property_type = self.request.column_types[edit.field]
                rule = self.request.rules[edit.field]
                hubspot = hubspot_field(record, edit.field, offset)
                try:
                    decision = decide(rule, property_type, edit, hubspot)
                    wire = to_wire(property_type, edit.value)
                    winning = (
                        to_json(property_type, hubspot.value) if decision is Decision.HUBSPOT_WINS else None
                    )
                except (InvalidValue, ValueError, ArithmeticError) as error:
                    outcomes.append(_outcome(edit, "failed", ("INVALID_VALUE", _reason(edit.field, error))))
                    continue
                self.counts[decision.value] += 1
                if decision in (Decision.POSTGRES_WINS, Decision.HUBSPOT_WINS):
                    winner = "postgres" if decision is Decision.POSTGRES_WINS else "hubspot"
                    conflicts.append(
                        Conflict(edit, hubspot.value, hubspot.changed_at, hubspot.source_type, winner, rule)
                    )
                if decision is Decision.ALREADY_THERE:
                    outcomes.append(_outcome(edit, "synced"))
                elif decision is Decision.HUBSPOT_WINS:
                    hubspot_values[edit.field][record_id] = (winning, edit.changed_at)
                    outcomes.append(_outcome(edit, "reverted"))
                else:
                    target = str(record["id"])
                    if edit.field in to_send[target]:  # two merged-away ids, one survivor: the later edit
                        earlier = next(s for s in sending if s[1] == target and s[0].field == edit.field)
                        if earlier[0].changed_at > edit.changed_at:
                            outcomes.append(_outcome(edit, "superseded"))
                            continue
                        sending.remove(earlier)
                        outcomes.append(_outcome(earlier[0], "superseded"))
                    to_send[target][edit.field] = wire
                    sending.append((edit, target))
        with self.conn.transaction():
            store.as_writeback(self.conn)
            store.record_conflicts(self.conn, self.object_type, self.run_info.run_id, conflicts)
            for column, values in hubspot_values.items():
                store.set_column(self.conn, self.object_type, column, values)
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
            store.mark_sent(
                self.conn, self.object_type, [(e.record_id, e.field, e.value) for e, _ in sending]
            )
        self.counts["conflicts"] += len(conflicts)
        self._count(outcomes)
        return to_send, sending

    def _settle_sent(self, sending: Sending, updater: IsolatingUpdater) -> None:
        failed = updater.failed
        self.counts["update_calls"] += updater.calls
        pushed: dict[str, dict[int, tuple[Any, datetime]]] = defaultdict(dict)
        outcomes = []
        for edit, target in sending:
            problem = failed.get(target)
            if problem is None:
                outcomes.append(_outcome(edit, "synced"))
                pushed[edit.field][edit.record_id] = (edit.value, edit.changed_at)
            else:
                outcomes.append(
                    _outcome(edit, "failed", (problem.category, problem.reason), problem.correlation_id)
                )
        with self.conn.transaction():
            store.as_writeback(self.conn)
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
            # An extraction may have landed HubSpot's older value over the edit meanwhile: put it back.
            for column, values in pushed.items():
                store.set_column(self.conn, self.object_type, column, values)
        self._count(outcomes)

    def _resolve(
        self, edits: Edits, answers: dict[int, tuple[ApiResponse, float]]
    ) -> tuple[dict[int, dict], timedelta]:
        """HubSpot's records by the ids asked (a merged-away id answers with its survivor), from a chunk's
        reads, and the offset of HubSpot's clock from the database's."""
        found: dict[int, dict] = {}
        for start in sorted(answers):
            response, _ = answers[start]
            for record in response.body.get("results") or []:
                record_id = int(record["id"])
                found[record_id] = record
                merged = (record.get("properties") or {}).get(MERGED_IDS) or ""
                for merged_id in merged.split(";"):
                    if merged_id.strip().isdigit():
                        found.setdefault(int(merged_id), record)
        # The database clock when the first answer came: now, less the time since (on this host's clock).
        first, answered_at = answers[0]
        database_now = self.conn.execute("SELECT clock_timestamp()").fetchone()[0]
        database_then = database_now - timedelta(seconds=time.monotonic() - answered_at)
        offset = clock_offset(_header_date(first.headers.get("date")), database_then)
        return {record_id: found[record_id] for record_id in edits if record_id in found}, offset

    def _read(self, ids: list[str], fields: list[str]) -> tuple[ApiResponse, float]:
        response = self.hook.batch_read(
            self.object_type, ids, [*fields, MERGED_IDS], properties_with_history=fields
        )
        return response, time.monotonic()

    # -- archives ------------------------------------------------------------------------------

    def _archives(self) -> None:
        entries = store.pending_records(self.conn, self.object_type, "archive")
        with CallWindow(self.hook, self.requests_in_flight) as window:
            for start in range(0, len(entries), BATCH_SIZE):
                chunk = entries[start : start + BATCH_SIZE]
                window.submit(partial(self._archive, chunk), partial(self._settle_archived, chunk))

    def _archive(self, chunk: list[store.RecordEntry]) -> HubSpotRequestError | None:
        """Archive one chunk; HubSpot's refusal is returned, to be settled with the chunk."""
        try:
            self.hook.batch_archive(self.object_type, [str(entry.record_id) for entry in chunk])
        except HubSpotRequestError as refused:
            return refused
        return None

    def _settle_archived(self, chunk: list[store.RecordEntry], refused: HubSpotRequestError | None) -> None:
        self.counts["archive_calls"] += 1
        if refused is not None:
            problem = (str(refused.body.get("category") or "BATCH_REFUSED"), describe_error(refused.body))
            outcomes = [record_outcome(entry, "failed", problem, refused.correlation_id) for entry in chunk]
        else:
            outcomes = [record_outcome(entry, "synced") for entry in chunk]
            self.counts["archived"] += len(chunk)
        with self.conn.transaction():
            store.as_writeback(self.conn)
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
            store.mark_archived(
                self.conn, self.object_type, [o.record_id for o in outcomes if o.status == "synced"]
            )
        self._count(outcomes)

    # -- bookkeeping ---------------------------------------------------------------------------

    def _settle(self, outcomes: list[Outcome]) -> None:
        with self.conn.transaction():
            store.settle(self.conn, self.object_type, self.run_info.run_id, outcomes)
        self._count(outcomes)

    def _count(self, outcomes: list[Outcome]) -> None:
        self.counts.update(f"entries_{outcome.status}" for outcome in outcomes)


def _send(updater: IsolatingUpdater, to_send: dict[str, dict[str, str]]) -> IsolatingUpdater:
    """One chunk's batch updates (on a worker thread when several are in flight): HubSpot only."""
    updater.send(dict(to_send))
    return updater


def _outcome(
    edit: PendingEdit, status: str, problem: tuple[str, str] | None = None, correlation_id: str | None = None
) -> Outcome:
    category, reason = problem or (None, None)
    return Outcome(edit.record_id, edit.field, edit.changed_at, status, category, reason, correlation_id)


def _reason(field: str, error: Exception) -> str:
    return f"{field}: the value cannot be sent to HubSpot ({error})"


def _header_date(value: str | None) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
