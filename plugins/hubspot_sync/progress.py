"""Progress lines for long work (a full load, a large push): records so far, of how many, rate, ETA.

Told about every batch, it logs only at a steady cadence: when `every_seconds` have passed since
the last line, or when another `every_share` of a known total is done. A task log then shows a
few dozen lines for hours of work, never one per page. Pure apart from the clock and the logger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Progress:
    what: str  # e.g. "contacts full load"
    unit: str = "records"
    every_seconds: float = 30.0
    every_share: float = 0.1
    clock: Callable[[], float] = time.monotonic
    logger: logging.Logger = log
    started: float = field(init=False)
    _last_logged: float = field(init=False)
    _last_share_step: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.started = self._last_logged = self.clock()

    def update(self, done: int, total: int | None = None) -> str | None:
        """Note that `done` units are done (of `total` when known); returns the line if one was logged."""
        now = self.clock()
        share_step = int(done / total / self.every_share) if total else 0
        if now - self._last_logged < self.every_seconds and share_step <= self._last_share_step:
            return None
        self._last_logged, self._last_share_step = now, max(share_step, self._last_share_step)
        line = self.describe(done, total, now)
        self.logger.info("%s", line)
        return line

    def describe(self, done: int, total: int | None, now: float | None = None) -> str:
        elapsed = max((now if now is not None else self.clock()) - self.started, 1e-9)
        rate = done / elapsed
        text = f"{self.what}: {done:,} {self.unit}"
        if total:
            text += f" of {total:,} ({min(done / total, 1):.0%})"
        text += f", {rate:,.0f}/s, {_duration(elapsed)} elapsed"
        if total and rate > 0 and done < total:
            text += f", ETA {_duration((total - done) / rate)}"
        return text


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"
