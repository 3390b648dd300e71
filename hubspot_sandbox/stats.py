"""Counts of API requests since the last reset (control and stats calls are never counted)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hubspot_sandbox.clock import iso_ms, now_ms


class RequestStats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.since_ms = now_ms()
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()

    def record(self, endpoint: str, status: int | str, policy: str | None = None) -> None:
        self.by_endpoint[endpoint] += 1
        self.by_status[str(status)] += 1
        if status == 429 and policy:
            self.rate_limited[policy] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "since": iso_ms(self.since_ms),
            "total": sum(self.by_endpoint.values()),
            "byEndpoint": dict(sorted(self.by_endpoint.items())),
            "byStatus": dict(sorted(self.by_status.items())),
            "rateLimited": {"total": sum(self.rate_limited.values()), **self.rate_limited},
            "faultsInjected": dict(self.faults_injected),
        }
