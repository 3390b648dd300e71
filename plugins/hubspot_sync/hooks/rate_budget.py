"""A rate budget per HubSpot token, shared by every task, DAG and worker through PostgreSQL.

HubSpot limits requests per token over a rolling window (e.g. 190 per 10 s) and CRM search to
5 per second, separately.

The 10-second limit is a token bucket in `hubspot_sync.rate_budget`, sized so that no rolling window
can exceed the limit, even when requests reach HubSpot up to DELIVERY_JITTER_SECONDS later than
their token was granted (threads, connection set-up, the network): capacity + (window + jitter) *
rate <= limit. With the default share of 0.9, sustained use is 90% of the limit (a burst never passes
95%).

Search's window is one second, where that margin would cost 40% of the limit, so search is kept by
its calls instead (`hubspot_sync.rate_budget_slots`): 5 slots, one taken per call and freed a window
(1 s / share) after HubSpot answered the call. A request reaches HubSpot between its grant and its
answer, so two calls of the same slot reach it at least a window apart and no window at HubSpot can
hold a sixth, however late requests arrive. At 150 ms a call that is about 3.8 searches a second.

Not responsible for: reacting to 429s (the HubSpot hook does), or the daily limit, which HubSpot
enforces per account and the hook reports when it is hit.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg

from hubspot_sync.sql import load_sql

RequestKind = Literal["standard", "search"]

# Requests per window, by tier (private apps; HUBSPOT_API.md). Search is 5 per second on every tier.
TIER_LIMITS: dict[str, int] = {"starter": 100, "free": 100, "professional": 190, "enterprise": 190}
STANDARD_WINDOW_SECONDS = 10.0
SEARCH_LIMIT_PER_SECOND = 5
MAX_SINGLE_WAIT_SECONDS = 10.0
# How much later than its token a request may reach HubSpot; a window at HubSpot then spans
# window + this at the bucket.
DELIVERY_JITTER_SECONDS = 0.4
# How long a call may stay unanswered before its slot counts as answered (its worker died): the
# hook's connect timeout plus its default read timeout.
CALL_TIMEOUT_SECONDS = 40.0
RETRY_TAKE_SECONDS = 0.01  # every slot was being taken by another session at that instant
MAX_SEARCH_SLOTS = 50  # HubSpot allows 5 searches a second (older docs: 4); one row per slot


@dataclass(frozen=True)
class Bucket:
    name: str
    capacity: float
    rate: float  # tokens per second

    @classmethod
    def for_limit(cls, name: str, limit: int, window_seconds: float, share: float) -> Bucket:
        # Rounded first: (1 - 0.9) / 2 * 100 is 4.999..., which must give 5, not 4.
        capacity = max(1.0, math.floor(round((1 - share) / 2 * limit, 6)))
        rate = min(
            share * limit / window_seconds, (limit - capacity) / (window_seconds + DELIVERY_JITTER_SECONDS)
        )
        return cls(name, capacity, rate)


@dataclass(frozen=True)
class Slots:
    """A limit over a short window kept by the calls themselves: `count` slots, each taken for one call
    and free again `window_seconds` after the call was answered."""

    name: str
    count: int
    window_seconds: float

    @classmethod
    def for_limit(cls, name: str, limit: int, window_seconds: float, share: float) -> Slots:
        # `limit` calls per window / share: the share stretches the window, not the count.
        return cls(name, max(1, limit), window_seconds / share)


@dataclass(frozen=True)
class Grant:
    """A slot taken for one call; the call hands it back once answered (or failed)."""

    slot: int
    granted_at: datetime


class RateBudget:
    """Blocks until the shared budget allows one more request of a kind; threads may share one
    (psycopg serialises their statements on the connection)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        token: str,
        *,
        requests_per_10s: int,
        search_per_second: int = SEARCH_LIMIT_PER_SECOND,
        share: float = 0.9,
        call_timeout_seconds: float = CALL_TIMEOUT_SECONDS,
    ) -> None:
        # The bucket is named after a fingerprint: the token itself never reaches the database.
        fingerprint = hashlib.sha256(token.encode()).hexdigest()[:16]
        self._conn = conn
        self._share = share
        self._conn.autocommit = True
        self._conn.execute(load_sql("rate_budget/session"))
        self.buckets: dict[Literal["standard"], Bucket] = {
            "standard": Bucket.for_limit(
                f"{fingerprint}:standard", requests_per_10s, STANDARD_WINDOW_SECONDS, share
            ),
        }
        self.search = Slots.for_limit(f"{fingerprint}:search", search_per_second, 1.0, share)
        for bucket in self.buckets.values():
            self._conn.execute(
                load_sql("rate_budget/ensure_bucket"), {"bucket": bucket.name, "capacity": bucket.capacity}
            )
        self._conn.execute(
            load_sql("rate_budget/ensure_slots"), {"bucket": self.search.name, "slots": self.search.count}
        )
        self._call_timeout = call_timeout_seconds
        self.seconds_waited = 0.0
        self._waited_lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def resize(self, kind: Literal["standard"], limit: int, window_seconds: float) -> bool:
        """Size one bucket for `limit` requests per `window_seconds` (e.g. learnt from HubSpot's
        rate-limit headers); returns whether it changed. Every worker sizes its own view of the shared
        bucket the same way from the same headers."""
        current = self.buckets[kind]
        resized = Bucket.for_limit(current.name, limit, window_seconds, self._share)
        if resized == current:
            return False
        self.buckets[kind] = resized
        return True

    def acquire(self, kind: RequestKind) -> Grant | None:
        """Wait until one more request of `kind` is allowed; a search gets a slot, to be handed back
        with `answered` once HubSpot answered (or the call failed)."""
        if kind == "search":
            return self._take_slot()
        bucket = self.buckets[kind]
        params = {"bucket": bucket.name, "capacity": bucket.capacity, "rate": bucket.rate}
        while True:
            granted, wait_seconds = self._conn.execute(load_sql("rate_budget/acquire"), params).fetchone()
            if granted:
                return None
            self._wait(float(wait_seconds))

    def answered(self, grant: Grant) -> None:
        """The call of `grant` is over: its slot frees a window from now."""
        params = {"bucket": self.search.name, "slot": grant.slot, "granted_at": grant.granted_at}
        self._conn.execute(load_sql("rate_budget/free_slot"), params)

    def _take_slot(self) -> Grant:
        slots = self.search
        params = {
            "bucket": slots.name,
            "slots": slots.count,
            "window": slots.window_seconds,
            "call_timeout": self._call_timeout,
        }
        while True:
            row = self._conn.execute(load_sql("rate_budget/take_slot"), params).fetchone()
            if row is None:
                self._wait(RETRY_TAKE_SECONDS)
                continue
            slot, granted_at, wait_seconds = row
            if slot is not None:
                return Grant(slot, granted_at)
            self._wait(wait_seconds)

    def _wait(self, seconds: float) -> None:
        wait = min(max(seconds, 0.001), MAX_SINGLE_WAIT_SECONDS)
        with self._waited_lock:
            self.seconds_waited += wait
        time.sleep(wait)
