"""The sandbox's own log of when it served each API request, to see calls overlap without timing them."""

from __future__ import annotations

import time
from contextvars import ContextVar

import pytest


class ServerLog:
    """Start and end of every API request, as the sandbox serves it: its fault check opens a request
    and its stats count closes it (both run in the request's own task, after auth and limits)."""

    def __init__(self, hubspot, monkeypatch: pytest.MonkeyPatch) -> None:
        self.spans: list[tuple[str, float, float]] = []
        started: ContextVar[float | None] = ContextVar("started", default=None)
        live = hubspot.sandbox
        decide, record = live.faults.decide, live.stats.record

        def opened(endpoint: str):
            started.set(time.monotonic())
            return decide(endpoint)

        def closed(endpoint: str, status, policy=None) -> None:
            begun = started.get()
            if begun is not None:
                self.spans.append((endpoint, begun, time.monotonic()))
                started.set(None)
            record(endpoint, status, policy)

        monkeypatch.setattr(live.faults, "decide", opened)
        monkeypatch.setattr(live.stats, "record", closed)

    def clear(self) -> None:
        self.spans.clear()

    def most_at_once(self, *endpoints: str) -> int:
        """The largest number of requests to `endpoints` the sandbox was serving at the same moment."""
        events = sorted(
            [(begun, 1) for name, begun, _ in self.spans if name in endpoints]
            + [(ended, -1) for name, _, ended in self.spans if name in endpoints]
        )  # at equal times an end (-1) sorts before a start: touching spans do not overlap
        busy = most = 0
        for _, step in events:
            busy += step
            most = max(most, busy)
        return most
