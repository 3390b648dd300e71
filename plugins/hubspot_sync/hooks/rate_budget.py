"""A rate budget per HubSpot token, shared by every task, DAG and worker through PostgreSQL.

HubSpot limits requests per token over a rolling window (e.g. 190 per 10 s) and CRM search to
5 per second, separately. Each limit is a token bucket in `hubspot_sync.rate_budget`, sized so
that no rolling window can exceed the limit, even when requests reach HubSpot up to
DELIVERY_JITTER_SECONDS later than their token was granted (threads, connection set-up, the
network): capacity + (window + jitter) * rate <= limit. With the default share of 0.9, sustained
use is 90% of the 10-second limit (a burst never passes 95%); search, whose window is one second,
is held to 2.9 a second.

Not responsible for: reacting to 429s (the HubSpot hook does), or the daily limit, which HubSpot
enforces per account and the hook reports when it is hit.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
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
    ) -> None:
        # The bucket is named after a fingerprint: the token itself never reaches the database.
        fingerprint = hashlib.sha256(token.encode()).hexdigest()[:16]
        self._conn = conn
        self._share = share
        self._conn.autocommit = True
        self._conn.execute(load_sql("rate_budget/session"))
        self.buckets: dict[RequestKind, Bucket] = {
            "standard": Bucket.for_limit(
                f"{fingerprint}:standard", requests_per_10s, STANDARD_WINDOW_SECONDS, share
            ),
            "search": Bucket.for_limit(f"{fingerprint}:search", search_per_second, 1.0, share),
        }
        for bucket in self.buckets.values():
            self._conn.execute(
                load_sql("rate_budget/ensure_bucket"), {"bucket": bucket.name, "capacity": bucket.capacity}
            )
        self.seconds_waited = 0.0
        self._waited_lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def resize(self, kind: RequestKind, limit: int, window_seconds: float) -> bool:
        """Size one bucket for `limit` requests per `window_seconds` (e.g. learnt from HubSpot's
        rate-limit headers); returns whether it changed. Every worker sizes its own view of the shared
        bucket the same way from the same headers."""
        current = self.buckets[kind]
        resized = Bucket.for_limit(current.name, limit, window_seconds, self._share)
        if resized == current:
            return False
        self.buckets[kind] = resized
        return True

    def acquire(self, kind: RequestKind) -> None:
        bucket = self.buckets[kind]
        params = {"bucket": bucket.name, "capacity": bucket.capacity, "rate": bucket.rate}
        while True:
            granted, wait_seconds = self._conn.execute(load_sql("rate_budget/acquire"), params).fetchone()
            if granted:
                return
            wait = min(float(wait_seconds), MAX_SINGLE_WAIT_SECONDS)
            with self._waited_lock:
                self.seconds_waited += wait
            time.sleep(wait)
