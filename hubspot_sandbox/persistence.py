"""The portal on disk (``--data-dir``): loaded at start, saved after writes and at a clean shutdown.

What is kept is the portal: records (live, archived, merged-away redirects, property history), associations,
property definitions, the search index and the id counter. What the command line or the control API sets
(token, tier, search lag, faults, stats) is not: a restart applies its own flags.

A save pickles the state on the event loop, where no request can change it halfway (handlers do not await
while they mutate), then writes the bytes from a worker thread to a temporary file that is fsynced and
renamed over the old snapshot: a crash mid-save leaves the previous snapshot whole. Pickling blocks the
server: about 1.2 s and 37 MB per 100,000 contacts (with a tenth as many companies and deals) on two busy
cores, so some 12 s at a million; saves are therefore spaced at least ten times their own blocking time
apart, and never closer than ``--save-interval-seconds``. A kill -9 loses the writes since the last save.

The snapshot is a pickle: load only a data directory this sandbox wrote.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

from hubspot_sandbox.clock import iso_ms, now_ms
from hubspot_sandbox.state import Sandbox

SNAPSHOT_NAME = "portal.pickle"
# Bump when the pickled classes change incompatibly; an old snapshot is then refused, not misread.
FORMAT = 1
# Sandbox attributes that are the portal's data, and those a restart sets afresh; every attribute must be in
# one of them (a test checks), so a new piece of portal state cannot be left out of the snapshot unnoticed.
PORTAL_FIELDS = ("tables", "associations", "_next_id")
RUNTIME_FIELDS = frozenset(
    {
        "token",
        "limiter",
        "faults",
        "stats",
        "search_limits",
        "search_lag_ms",
        "search_lag_jitter_ms",
        "max_url_bytes",
        "batch_errors_name_inputs",
        "list_pages_reversed",
        "max_seed_total",
    }
)
SPACING_FACTOR = 10
logger = logging.getLogger("hubspot_sandbox")


class SnapshotError(RuntimeError):
    """A snapshot exists but cannot be used; the message names the file and what to do."""


class PortalStore:
    """Loads and saves one sandbox's portal in a data directory; counts the writes it has not saved yet."""

    def __init__(self, sandbox: Sandbox, data_dir: str | Path, interval_seconds: float = 5.0) -> None:
        self.sandbox = sandbox
        self.directory = Path(data_dir)
        self.path = self.directory / SNAPSHOT_NAME
        self.interval_seconds = interval_seconds
        self._changes = 0
        self._saved_changes = 0
        self._last_blocking_seconds = 0.0
        self._write_lock = threading.Lock()  # a save cut short by shutdown may still be writing
        self.saves = 0

    # ---- loading
    def load(self) -> bool:
        """Replace the sandbox's portal with the snapshot, if there is one; True when loaded. The search
        indexes keep the old process's lag settings: apply this run's afterwards (``set_search_lag``)."""
        if not self.path.exists():
            return False
        try:
            with self.path.open("rb") as snapshot, _collector_paused():
                payload = pickle.load(snapshot)  # noqa: S301 - the sandbox's own snapshot, see module doc
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as problem:
            raise SnapshotError(
                f"{self.path} cannot be read ({type(problem).__name__}: {problem}); move it away to start "
                "with an empty portal"
            ) from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            found = payload.get("format") if isinstance(payload, dict) else None
            raise SnapshotError(
                f"{self.path} has snapshot format {found!r}, this sandbox reads format {FORMAT}; move it "
                "away to start with an empty portal"
            )
        for name in PORTAL_FIELDS:
            setattr(self.sandbox, name, payload["portal"][name])
        for table in self.sandbox.tables.values():
            # Pending index entries were due at monotonic times of the old process: make them current.
            table.search.refresh(flush=True)
        logger.warning("loaded the portal saved at %s from %s", payload.get("savedAt"), self.path)
        return True

    # ---- saving
    def mark_changed(self) -> None:
        self._changes += 1

    @property
    def unsaved(self) -> bool:
        return self._changes != self._saved_changes

    def snapshot_bytes(self) -> tuple[bytes, int]:
        """The pickled portal, and the change count it covers; call on the event loop."""
        started = time.perf_counter()
        changes = self._changes
        payload: dict[str, Any] = {
            "format": FORMAT,
            "savedAt": iso_ms(now_ms()),
            "portal": {name: getattr(self.sandbox, name) for name in PORTAL_FIELDS},
        }
        with _collector_paused():
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        self._last_blocking_seconds = time.perf_counter() - started
        return data, changes

    def write(self, data: bytes, changes: int) -> None:
        """Replace the snapshot file atomically (temporary file, fsync, rename, fsync of the directory);
        a snapshot older than the one on disk is dropped."""
        with self._write_lock:
            if changes < self._saved_changes:
                return
            self._write_locked(data, changes)

    def _write_locked(self, data: bytes, changes: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{SNAPSHOT_NAME}.{os.getpid()}.tmp")
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._saved_changes = changes
        self.saves += 1

    def save(self) -> None:
        """Save now, whole, on the calling thread (at shutdown, or from a script)."""
        self.write(*self.snapshot_bytes())

    async def save_soon(self) -> None:
        data, changes = self.snapshot_bytes()
        await asyncio.to_thread(self.write, data, changes)

    def next_wait(self) -> float:
        return max(self.interval_seconds, SPACING_FACTOR * self._last_blocking_seconds)

    async def run(self) -> None:
        """Save whenever something changed, spaced as the module doc says; runs until cancelled."""
        while True:
            await asyncio.sleep(self.next_wait())
            if self.unsaved:
                try:
                    await self.save_soon()
                except OSError:
                    logger.exception("could not save the portal to %s; will try again", self.path)

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """Starlette lifespan: periodic saves while serving, a last save at a clean shutdown."""
        saver = asyncio.create_task(self.run(), name="hubspot-sandbox-saver")
        try:
            yield
        finally:
            saver.cancel()
            with suppress(asyncio.CancelledError):
                await saver
            if self.unsaved or not self.path.exists():
                self.save()
                logger.warning("saved the portal to %s", self.path)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Millions of new objects would trigger the cyclic collector again and again (half the load time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
