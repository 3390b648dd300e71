"""Sending validated changes in batches of 100, and isolating the inputs HubSpot refuses.

HubSpot writes a batch all or nothing: one invalid input (a value the cached definitions allowed but
HubSpot no longer does, say) fails the whole call with a 400 and writes nothing. So a refused batch is
taken apart here, never left unsent:
- when the refusal names its inputs (`errors[].context.ids`), those are recorded as failed with HubSpot's
  category and reason, and the rest is sent again (one extra call);
- when it names only properties (or is a 409 conflict, which names an existing record, not an input),
  the batch is halved until each bad input is alone: a half that is accepted is committed, and when the
  first half of a refused set is accepted the second must hold the bad inputs, so it is split without
  being sent whole. Isolating k bad inputs of a batch of n costs at most about 2k·log2(n/k) extra calls;
- a refusal that names neither (the call itself is wrong) fails every input of the batch.

Every answered call commits its own push state and audit rows (store.record_batch), so a crash mid-way
loses nothing that HubSpot accepted. Retrying is safe: the only writes sent are update and upsert, which
converge when a call whose answer was lost is sent again (batch create is never used; if it is, its
inputs must carry an `objectWriteTraceId`, or a retry duplicates records).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import psycopg

from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotRequestError
from hubspot_sync.reverse_etl import store
from hubspot_sync.reverse_etl.diff import Change
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.reverse_etl.responses import (
    InputError,
    Refusal,
    batch_input,
    input_errors,
    read_refusal,
    whole_batch_error,
)
from hubspot_sync.run_metrics import RunInfo

BATCH_SIZE = 100  # HubSpot's maximum inputs per batch call
ISOLATABLE_STATUSES = (400, 409)

Item = tuple[Change, dict[str, str]]  # a change and its values as sent


@dataclass
class SendCounts:
    batches: int = 0  # batches of up to BATCH_SIZE the changes were cut into
    calls: int = 0  # batch calls made for them

    @property
    def isolation_calls(self) -> int:
        """Calls beyond one per batch: the price of isolating refused inputs."""
        return self.calls - self.batches


class BatchSender:
    def __init__(
        self,
        conn: psycopg.Connection,
        hubspot: HubSpotHook,
        name: str,
        model: ReverseEtlModel,
        run: RunInfo,
    ) -> None:
        self.conn, self.hubspot, self.name, self.model, self.run = conn, hubspot, name, model, run
        self.counts = SendCounts()
        self.refusals: Counter[str] = Counter()

    def send(self, sendable: list[Item]) -> Counter[str]:
        """Send in batches of 100 per operation; returns how many inputs HubSpot refused, by category."""
        self.refusals = Counter()
        for operation in ("upsert", "update"):
            pending = [item for item in sendable if item[0].operation == operation]
            for batch in store.chunks(pending, BATCH_SIZE):
                self.counts.batches += 1
                self._push(operation, batch)
        return self.refusals

    def _push(self, operation: str, items: list[Item]) -> None:
        refusal = self._call(operation, items)
        if refusal is not None:
            self._isolate(operation, items, refusal)

    def _call(self, operation: str, items: list[Item]) -> Refusal | None:
        """Send one batch and record its answer; a refusal that splitting may resolve is returned."""
        self.counts.calls += 1
        keys = [change.key for change, _ in items]
        inputs = [batch_input(change, wire, self.model.key.property) for change, wire in items]
        try:
            response = self.hubspot.batch_write(self.model.object_type, operation, inputs)
        except HubSpotRequestError as refused:
            if refused.status in ISOLATABLE_STATUSES:
                return read_refusal(keys, refused.status, refused.body, refused.correlation_id, str(refused))
            self._record(
                items, whole_batch_error(keys, "BATCH_REFUSED", str(refused), refused.correlation_id)
            )
            return None
        self._record(items, input_errors(keys, response.status, response.body, response.headers))
        return None

    def _isolate(self, operation: str, items: list[Item], refusal: Refusal) -> None:
        """Record the bad inputs of a refused set, and get its good inputs accepted."""
        named = {change.key: refusal.named[change.key] for change, _ in items if change.key in refusal.named}
        if named:
            self._record([item for item in items if item[0].key in named], named)
            rest = [item for item in items if item[0].key not in named]
            if rest:
                self._push(operation, rest)
            return
        if len(items) == 1 or not refusal.splittable:
            self._record(items, {change.key: refusal.problem for change, _ in items})
            return
        half = len(items) // 2
        left, right = items[:half], items[half:]
        left_refusal = self._call(operation, left)
        if left_refusal is None:
            self._isolate(operation, right, refusal)  # the bad inputs are all on the right
        else:
            self._isolate(operation, left, left_refusal)
            self._push(operation, right)

    def _record(self, items: list[Item], failed: dict[str, InputError]) -> None:
        store.record_batch(self.conn, self.name, self.model, self.run, items, failed)
        self.refusals.update(problem.category for problem in failed.values())
