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

Batches go out `requests_in_flight` at a time (CallWindow): the calls of one batch, its isolation
included, run on a worker thread and touch no database; their answers are recorded on the thread that
owns the connection, one transaction per answered call as before, as soon as the batch is done. Batches
in flight together hold different keys (the model query returns each key once), so their order does
not matter. With one in flight there is no thread: each call is recorded the moment it is answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

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
Answer = tuple[list[Item], dict[str, InputError]]  # one answered call: its inputs, and those that failed
T = TypeVar("T")


@dataclass
class SendCounts:
    batches: int = 0  # batches of up to BATCH_SIZE the changes were cut into
    calls: int = 0  # batch calls made for them

    @property
    def isolation_calls(self) -> int:
        """Calls beyond one per batch: the price of isolating refused inputs."""
        return self.calls - self.batches


class CallWindow:
    """Runs HubSpot calls on up to `requests_in_flight` worker threads while the caller's thread, which
    owns the database connection, handles every answer: `submit(call, then)` runs `call` on a worker and
    later `then(answer)` on the caller's thread, in the order the answers come.

    Memory stays bounded: `submit` waits (handling answers) while twice `requests_in_flight` calls are
    unanswered or unhandled. A call that raises stops the window: nothing more is submitted, calls not
    yet started are cancelled, the calls in flight finish and are handled, and leaving the `with` block
    raises the first error. When the
    caller's own thread fails (the database, say), queued calls are cancelled and running ones are
    waited for but not handled: like a crash, the rerun sends them again.

    With one in flight there is no thread at all: `submit` runs the call and its `then` at once, and
    an error escapes at once, exactly as a plain loop would.
    """

    def __init__(self, hubspot: HubSpotHook, requests_in_flight: int) -> None:
        self.requests_in_flight = requests_in_flight
        self.error: BaseException | None = None
        self._pending: dict[Future, Callable[[Any], None]] = {}
        self._handling = False
        self._pool: ThreadPoolExecutor | None = None
        if requests_in_flight > 1:
            hubspot.share_between_threads()
            self._pool = ThreadPoolExecutor(requests_in_flight, thread_name_prefix="hubspot-call")

    @property
    def concurrent(self) -> bool:
        return self._pool is not None

    @property
    def stopped(self) -> bool:
        """A call failed: whatever is still to submit is left to the rerun."""
        return self.error is not None

    def submit(self, call: Callable[[], T], then: Callable[[T], None]) -> None:
        if self.stopped:
            return
        if self._pool is None:
            then(call())
            return
        # A `then` may submit a follow-up call; it must not wait inside another answer's handling.
        if not self._handling:
            self._handle_answers(block=False)  # record what is answered, and see failures, early
            while len(self._pending) >= 2 * self.requests_in_flight:
                self._handle_answers()
        if not self.stopped:
            self._pending[self._pool.submit(call)] = then

    def fail(self, error: BaseException) -> None:
        """Stop submitting; `error` is raised once the calls in flight are handled."""
        self.error = self.error or error
        for future in self._pending:
            future.cancel()  # only those no worker has started: the rerun sends them

    def _handle_answers(self, *, block: bool = True) -> None:
        if not self._pending:
            return
        done, _ = wait(self._pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in [future for future in self._pending if future in done]:
            then = self._pending.pop(future)
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:
                self.fail(error)
                continue
            self._handling = True
            try:
                then(future.result())
            finally:
                self._handling = False

    def __enter__(self) -> CallWindow:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if self._pool is None:
            return
        if error_type is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            return
        try:
            while self._pending:
                self._handle_answers()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self.error is not None:
            raise self.error


@dataclass
class BatchExchange:
    """The calls that get one batch answered: the write, then the isolation of refused inputs.

    Talks to HubSpot only: every answered call goes to `record` at once, or, without one (on a worker
    thread), to `answers`, in the order HubSpot answered, for the connection's thread to record.
    """

    hubspot: HubSpotHook
    model: ReverseEtlModel
    operation: str
    record: Callable[[list[Item], dict[str, InputError]], None] | None = None
    calls: int = 0
    answers: list[Answer] = field(default_factory=list)
    error: Exception | None = None  # what stopped a batch sent on a worker thread

    def push(self, items: list[Item]) -> None:
        refusal = self._call(items)
        if refusal is not None:
            self._isolate(items, refusal)

    def _call(self, items: list[Item]) -> Refusal | None:
        """Send one batch and record its answer; a refusal that splitting may resolve is returned."""
        self.calls += 1
        keys = [change.key for change, _ in items]
        inputs = [batch_input(change, wire, self.model.key.property) for change, wire in items]
        try:
            response = self.hubspot.batch_write(self.model.object_type, self.operation, inputs)
        except HubSpotRequestError as refused:
            if refused.status in ISOLATABLE_STATUSES:
                return read_refusal(keys, refused.status, refused.body, refused.correlation_id, str(refused))
            self._answered(
                items, whole_batch_error(keys, "BATCH_REFUSED", str(refused), refused.correlation_id)
            )
            return None
        self._answered(items, input_errors(keys, response.status, response.body, response.headers))
        return None

    def _isolate(self, items: list[Item], refusal: Refusal) -> None:
        """Record the bad inputs of a refused set, and get its good inputs accepted."""
        named = {change.key: refusal.named[change.key] for change, _ in items if change.key in refusal.named}
        if named:
            self._answered([item for item in items if item[0].key in named], named)
            rest = [item for item in items if item[0].key not in named]
            if rest:
                self.push(rest)
            return
        if len(items) == 1 or not refusal.splittable:
            self._answered(items, {change.key: refusal.problem for change, _ in items})
            return
        half = len(items) // 2
        left, right = items[:half], items[half:]
        left_refusal = self._call(left)
        if left_refusal is None:
            self._isolate(right, refusal)  # the bad inputs are all on the right
        else:
            self._isolate(left, left_refusal)
            self.push(right)

    def _answered(self, items: list[Item], failed: dict[str, InputError]) -> None:
        if self.record is None:
            self.answers.append((items, failed))
        else:
            self.record(items, failed)


class BatchSender:
    def __init__(
        self,
        conn: psycopg.Connection,
        hubspot: HubSpotHook,
        name: str,
        model: ReverseEtlModel,
        run: RunInfo,
        *,
        requests_in_flight: int = 1,
    ) -> None:
        self.conn, self.hubspot, self.name, self.model, self.run = conn, hubspot, name, model, run
        self.requests_in_flight = requests_in_flight
        self.counts = SendCounts()
        self.refusals: Counter[str] = Counter()

    def send(self, sendable: list[Item]) -> Counter[str]:
        """Send in batches of 100 per operation; returns how many inputs HubSpot refused, by category."""
        self.refusals = Counter()
        for operation in ("upsert", "update"):
            pending = [item for item in sendable if item[0].operation == operation]
            if not pending:
                continue
            with CallWindow(self.hubspot, self.requests_in_flight) as window:
                settle = partial(self._settle, window)
                for batch in store.chunks(pending, BATCH_SIZE):
                    self.counts.batches += 1
                    if window.concurrent:
                        window.submit(partial(self._exchange, operation, batch), settle)
                    else:
                        self._push_here(operation, batch)
        return self.refusals

    def _push_here(self, operation: str, items: list[Item]) -> None:
        """One batch on this thread, each answered call recorded as soon as it is answered."""
        exchange = BatchExchange(self.hubspot, self.model, operation, self._record)
        try:
            exchange.push(items)
        finally:
            self.counts.calls += exchange.calls

    def _exchange(self, operation: str, items: list[Item]) -> BatchExchange:
        """One batch on a worker thread: its answers are kept for the connection's thread to record."""
        exchange = BatchExchange(self.hubspot, self.model, operation)
        try:
            exchange.push(items)
        except Exception as error:  # recorded with the answers before it, then raised by the window
            exchange.error = error
        return exchange

    def _settle(self, window: CallWindow, exchange: BatchExchange) -> None:
        self.counts.calls += exchange.calls
        for items, failed in exchange.answers:
            self._record(items, failed)
        if exchange.error is not None:
            window.fail(exchange.error)

    def _record(self, items: list[Item], failed: dict[str, InputError]) -> None:
        store.record_batch(self.conn, self.name, self.model, self.run, items, failed)
        self.refusals.update(problem.category for problem in failed.values())
