"""Extraction benchmark: ObjectExtractor through the HubSpot hook, sandbox over HTTP, real PostgreSQL.

The sandbox runs as its own process (``python -m hubspot_sandbox``) and every extraction runs in a fresh
worker process of this script, so each phase's peak RSS (VmHWM) is the extractor's alone. PostgreSQL is
HUBSPOT_SYNC_PG_URL; a throwaway database is created there and dropped at the end.

Phases (contacts only; property discovery, the list or search reading, the archived pass and the rate
budget round trips are all in the timings):
  full load       limits off, N contacts through the list API: API calls against the minimum
                  (1 property discovery + ceil(N/100) list pages + 1 archived page), records/s, peak RSS
  rss baseline    the same at a tenth of N: peak RSS must not grow with N
  incremental     limits off, after a batch update of C contacts: search calls against ceil(C/200)
  same ms         C contacts given one last-modified millisecond (a bulk import): the tie-break path
  professional    sandbox enforcing 190 req / 10 s and 5 searches / s, hook at the same tier: share of
                  the 10-second window used (aim >= 90%) and 429s (aim 0), for a full load and a search;
                  then a full load with --latency-ms added to every call (HubSpot answers in hundreds of
                  ms, the sandbox in a few): what one sequential extraction can use of the budget

    python bench/bench_extract.py                       # 100,000 contacts, 20,000 changed (a few minutes)
    python bench/bench_extract.py --quick               # smoke run
    python bench/bench_extract.py --contacts 1000000    # the flat-RSS check at a million
    python bench/bench_extract.py --profile             # also cProfile the full load, time by component
    python bench/bench_extract.py --custom-properties 200  # an account whose properties outgrow a search body

The sandbox lags search behind writes by 2-5 s as HubSpot does; each incremental phase starts once that
lag has passed after its writes, as a scheduled run minutes later would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "plugins"))

from hubspot_sandbox.testing import sandbox_process  # noqa: E402

TOKEN = "bench-extract-token"  # noqa: S105 - the sandbox's local test token
PG_URL_ENV = "HUBSPOT_SYNC_PG_URL"
QUIET = ("--log-level", "error")
PROFESSIONAL_LIMIT = 190
SEARCH_LIMIT = 5

# -- the worker: one extraction in its own process ---------------------------------------------


def proc_status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB: VmRSS now, VmHWM the peak of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one ObjectExtractor.run in this process; return counts, timings and memory."""
    import cProfile

    import psycopg

    from hubspot_sync.config import load_config
    from hubspot_sync.extract.engine import ExtractRequest, ObjectExtractor
    from hubspot_sync.hooks.hubspot import HubSpotHook
    from hubspot_sync.run_metrics import RunInfo

    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(
        {"conn_type": "http", "host": spec["url"], "password": TOKEN, "extra": spec["extra"]}
    )
    rss_before_kib = proc_status_kib("VmRSS")
    db_url = spec["db_url"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        hook = HubSpotHook(budget_conn_factory=budget_factory(spec))
        extractor = ObjectExtractor(
            hook, conn, load_config().objects["contacts"], RunInfo("bench", spec["phase"], "contacts")
        )
        request = ExtractRequest(
            "contacts", window_end_ms=int(time.time() * 1000), full_refresh=spec["full_refresh"]
        )
        profiler = cProfile.Profile() if spec.get("profile_path") else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        summary = extractor.run(request)
        if profiler:
            profiler.disable()
            profiler.dump_stats(spec["profile_path"])
        seconds = time.perf_counter() - started
        budget_wait = hook.budget.seconds_waited if hook.budget else 0.0
    return {
        "seconds": seconds,
        "records_read": summary.records_read,
        "records_written": summary.records_written,
        "records_rejected": summary.records_rejected,
        "hook": hook.stats.as_dict(),
        "mode": summary.details.get("mode"),
        "search": summary.details.get("search"),
        "budget_wait_seconds": budget_wait,
        "rss_before_mib": rss_before_kib / 1024,
        "peak_rss_mib": proc_status_kib("VmHWM") / 1024,
    }


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    try:
        subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(spec), "--worker-out", out_path],
            cwd=ROOT,
            check=True,
        )
        return json.loads(Path(out_path).read_text())
    finally:
        Path(out_path).unlink(missing_ok=True)


# -- the sandbox and the database ----------------------------------------------------------


class Sandbox:
    """Control-API and HTTP helpers for the sandbox process (started by sandbox_process)."""

    def __init__(self, url: str, custom_properties: int = 0) -> None:
        self.url = url
        self.custom_properties = custom_properties

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=3600)
        response.raise_for_status()
        return response.json()

    def reseed(self, contacts: int) -> None:
        self.control("POST", "reset")
        self.control("PUT", "limits", {"tier": "off"})
        self.control("POST", "seed", {"contacts": contacts, "seed": 1, "associations": False})
        with self.api() as client:
            for number in range(self.custom_properties):
                name = f"bench_custom_property_with_a_long_descriptive_name_{number:03d}"
                body = {"name": name, "label": name, "type": "string", "fieldType": "text"}
                body["groupName"] = "contactinformation"
                client.post("/crm/v3/properties/contacts", json=body).raise_for_status()

    def wait_for_search_index(self) -> None:
        """Sleep out the search index's lag (plus jitter), as the next scheduled run would."""
        config = self.control("GET", "config")
        time.sleep((config["searchLagMs"] + config.get("searchLagJitterMs", 0)) / 1000 + 0.05)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)


class BenchDatabase:
    def __init__(self, server_url: str) -> None:
        import psycopg

        from hubspot_sync.migrations import apply_migrations
        from scripts.pg import with_database

        self.server_url = server_url
        self.name = f"bench_extract_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        self.url = with_database(server_url, self.name)
        with psycopg.connect(self.url) as conn:
            apply_migrations(conn)

    def reset_contacts(self) -> None:
        """Forget the mirrored contacts and their cursor, so the next run is a first full load."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("TRUNCATE hubspot.contacts")
            conn.execute("DELETE FROM hubspot_sync.cursors WHERE object_type = 'contacts'")

    def random_ids(self, count: int) -> list[str]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT id FROM hubspot.contacts ORDER BY random() LIMIT %s", (count,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# -- phases -------------------------------------------------------------------------------


UNLIMITED = {"requests_per_10s": 1_000_000}  # limits off: the worker's hook then keeps no rate budget


def budget_factory(spec: dict[str, Any]):
    """What a worker's hook opens its rate budget with; none with limits off (search's slots would
    still hold it to HubSpot's 5 a second)."""
    import psycopg

    if spec["extra"] == UNLIMITED:
        return None
    db_url = spec["db_url"]
    return lambda: psycopg.connect(db_url)


def extract(sandbox: Sandbox, db: BenchDatabase, phase: str, *, full: bool, extra=None, profile=None):
    sandbox.control("DELETE", "stats")
    spec = {
        "phase": phase,
        "url": sandbox.url,
        "db_url": db.url,
        "full_refresh": full,
        "extra": extra or UNLIMITED,
        "profile_path": profile,
    }
    result = run_worker(spec)
    result["sandbox"] = sandbox.control("GET", "stats")
    return result


def update_contacts(sandbox: Sandbox, ids: list[str]) -> None:
    """Change `ids` through batch update, 100 per call, as HubSpot users' edits would."""
    with sandbox.api() as client:
        for start in range(0, len(ids), 100):
            inputs = [
                {"id": i, "properties": {"jobtitle": f"Bench {start}"}} for i in ids[start : start + 100]
            ]
            client.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}).raise_for_status()


def row(phase: str, result: dict[str, Any], minimum: int | None, note: str = "") -> dict[str, Any]:
    return {
        "phase": phase,
        "records": result["records_read"],
        "seconds": round(result["seconds"], 1),
        "records_per_s": round(result["records_read"] / result["seconds"]) if result["seconds"] else 0,
        "api_calls": result["hook"]["api_calls"],
        "minimum": minimum,
        "429s": result["sandbox"]["rateLimited"]["total"],
        "peak_rss_mib": round(result["peak_rss_mib"]),
        "note": note,
    }


def full_minimum(contacts: int) -> int:
    return 1 + max(1, math.ceil(contacts / 100)) + 1  # properties, list pages, one archived page


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    server_url = os.environ.get(PG_URL_ENV)
    if not server_url:
        sys.exit(f"{PG_URL_ENV} is not set: run through `make bench` or scripts/with_postgres.py")
    rows: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        process = stack.enter_context(sandbox_process(*QUIET, token=TOKEN))
        sandbox = Sandbox(process.url, custom_properties=args.custom_properties)
        db = BenchDatabase(server_url)
        stack.callback(db.drop)
        _run_phases(args, sandbox, db, rows, extras)
    return rows, extras


def _run_phases(
    args: argparse.Namespace, sandbox: Sandbox, db: BenchDatabase, rows: list[dict], extras: dict
) -> None:
    baseline = max(1000, args.contacts // 10)
    sandbox.reseed(baseline)
    result = extract(sandbox, db, "rss_baseline", full=True)
    rows.append(row(f"full load {baseline:,}", result, full_minimum(baseline)))

    db.reset_contacts()
    started = time.perf_counter()
    sandbox.reseed(args.contacts)
    extras["seed_seconds"] = round(time.perf_counter() - started, 1)
    profile_path = str(Path(tempfile.gettempdir()) / "bench_extract.prof") if args.profile else None
    result = extract(sandbox, db, "full", full=True, profile=profile_path)
    rows.append(row(f"full load {args.contacts:,}", result, full_minimum(args.contacts)))
    extras["full_load_calls"] = result["hook"]["by_operation"]
    extras["rss_before_run_mib"] = round(result["rss_before_mib"])
    if profile_path:
        extras["profile_seconds"] = profile_breakdown(profile_path)

    changed = db.random_ids(args.changed)
    update_contacts(sandbox, changed)
    sandbox.wait_for_search_index()
    result = extract(sandbox, db, "incremental", full=False)
    rows.append(
        row(
            f"incremental {len(changed):,} changed",
            result,
            search_minimum(result),
            _search_note(result),
        )
    )

    sandbox.control("POST", "bulk-touch", {"objectType": "contacts", "count": args.changed})
    sandbox.wait_for_search_index()
    result = extract(sandbox, db, "same_ms", full=False)
    rows.append(
        row(
            f"incremental {args.changed:,} in one ms",
            result,
            search_minimum(result),
            _search_note(result),
        )
    )

    if not args.skip_tier:
        rows.extend(
            professional_phase(sandbox, db, args.tier_contacts, args.tier_changed, args.latency_ms, extras)
        )


def professional_phase(
    sandbox: Sandbox,
    db: BenchDatabase,
    contacts: int,
    changed: int,
    latency_ms: int,
    extras: dict[str, Any],
) -> list[dict[str, Any]]:
    db.reset_contacts()
    sandbox.reseed(contacts)
    tier = {"rate_limit_tier": "professional"}
    sandbox.control("PUT", "limits", {"tier": "professional"})
    full = extract(sandbox, db, "professional_full", full=True, extra=tier)
    window_share = full["sandbox"]["total"] / full["seconds"] * 10 / PROFESSIONAL_LIMIT
    extras["professional_window_share"] = round(window_share, 3)
    share_note = f"{window_share:.0%} of 190/10s" + (" (run < 10 s: burst)" if full["seconds"] < 10 else "")

    sandbox.control("PUT", "limits", {"tier": "off"})  # the edits are not the extractor's budget
    update_contacts(sandbox, db.random_ids(changed))
    sandbox.wait_for_search_index()
    sandbox.control("PUT", "limits", {"tier": "professional"})
    incremental = extract(sandbox, db, "professional_incremental", full=False, extra=tier)
    searches = incremental["hook"]["by_operation"].get("objects.search", 0)
    search_rate = searches / incremental["seconds"]
    extras["professional_search_per_s"] = round(search_rate, 2)
    rows = [
        row(
            f"professional full {contacts:,}",
            full,
            full_minimum(contacts),
            share_note,
        ),
        row(
            f"professional incr {changed:,}",
            incremental,
            search_minimum(incremental),
            f"search {search_rate:.1f}/s of 5",
        ),
    ]
    if latency_ms:
        rows.append(latency_row(sandbox, db, max(1000, contacts // 8), latency_ms, tier, extras))
    return rows


def latency_row(
    sandbox: Sandbox, db: BenchDatabase, contacts: int, latency_ms: int, tier: dict, extras: dict[str, Any]
) -> dict[str, Any]:
    """The same full load with HubSpot-like response times: paging one page at a time, how much of
    the budget can a single extraction use?"""
    db.reset_contacts()
    sandbox.reseed(contacts)
    sandbox.control("PUT", "faults", {"latencyMs": latency_ms})
    sandbox.control("PUT", "limits", {"tier": "professional"})
    result = extract(sandbox, db, "professional_latency", full=True, extra=tier)
    sandbox.control("DELETE", "faults")
    share = result["sandbox"]["total"] / result["seconds"] * 10 / PROFESSIONAL_LIMIT
    extras["professional_window_share_with_latency"] = round(share, 3)
    return row(
        f"professional full {contacts:,}, {latency_ms} ms/call",
        result,
        full_minimum(contacts),
        f"{share:.0%} of 190/10s",
    )


def search_minimum(result: dict[str, Any]) -> int:
    """Properties + ceil(records in the window / 200) search pages + one archived page, + ceil(records
    / 100) batch reads when the property list is too long for a search body. The window starts
    `lookback` before the cursor, so it can hold more than the contacts just changed."""
    records = result["records_read"]
    whole = (result.get("search") or {}).get("whole_records", True)
    return 1 + max(1, math.ceil(records / 200)) + (0 if whole else math.ceil(records / 100)) + 1


def _search_note(result: dict[str, Any]) -> str:
    search = result.get("search") or {}
    return f"restarts {search.get('restarts', 0)}, tie pages {search.get('tie_pages', 0)}"


# -- profile ------------------------------------------------------------------------------

# Cumulative time of each stage of the extraction, found by (file path fragment, function name).
STAGES = [
    ("API calls (HubSpotHook.request)", "hooks/hubspot.py", "request"),
    ("  rate budget (PostgreSQL round trip)", "hooks/rate_budget.py", "acquire"),
    ("  SDK + HTTP until response headers", "hubspot/crm/objects/rest.py", "request"),
    ("  body read + JSON decode (_decode)", "hooks/hubspot.py", "_decode"),
    ("    of which json.loads", "json/__init__.py", "loads"),
    ("normalisation (records.to_row)", "hubspot_sync/records.py", "to_row"),
    ("landing (store.upsert_rows)", "extract/store.py", "upsert_rows"),
    ("  COPY rows (Jsonb encode + write_row)", "psycopg/_copy_base.py", "write_row"),
    ("    of which JSON encode", "json/encoder.py", "encode"),
    ("merges (store.mark_merged)", "extract/store.py", "mark_merged"),
    ("rejects (record_rejects)", "hubspot_sync/run_metrics.py", "record_rejects"),
    ("cursor (store.save_cursor)", "extract/store.py", "save_cursor"),
]


def profile_breakdown(path: str) -> dict[str, Any]:
    """Seconds per stage (cumulative, under cProfile, which inflates many small Python calls)."""
    stats = pstats.Stats(path)
    entries = stats.stats  # type: ignore[attr-defined]
    total = max(cumulative for (_, _, _, cumulative, _) in entries.values())
    breakdown = {"total (profiled run)": round(total, 2)}
    for label, fragment, function in STAGES:
        seconds = 0.0
        for (filename, _, name), (_, _, _, cumulative, callers) in entries.items():
            if fragment in filename and name == function:
                # Count only calls from outside the function itself (recursion would count twice).
                outside = [c for c in callers if c[2] != function or fragment not in c[0]]
                seconds += cumulative if outside else 0.0
        breakdown[label] = round(seconds, 2)
    return breakdown


# -- output -------------------------------------------------------------------------------


def print_table(rows: list[dict[str, Any]], extras: dict[str, Any]) -> None:
    headers = ["phase", "records", "seconds", "records_per_s", "api_calls", "minimum", "429s", "peak_rss_mib"]
    headers.append("note")
    widths = {h: max(len(h), *(len(_fmt(r[h])) for r in rows)) for h in headers}
    print("  ".join(h.ljust(widths[h]) for h in headers))
    for r in rows:
        print("  ".join(_fmt(r[h]).ljust(widths[h]) for h in headers))
    for key, value in extras.items():
        if isinstance(value, dict) and key.startswith("profile"):
            print(f"{key}:")
            for label, seconds in value.items():
                print(f"  {label:<44} {seconds:>7.2f}")
        else:
            print(f"{key}: {json.dumps(value)}")


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=20_000, help="contacts changed before incremental")
    parser.add_argument("--tier-contacts", type=int, default=40_000, help="full load at Professional")
    parser.add_argument("--tier-changed", type=int, default=4_000, help="incremental at Professional")
    parser.add_argument(
        "--latency-ms", type=int, default=200, help="per-call latency of the last Professional row (0: none)"
    )
    parser.add_argument(
        "--custom-properties", type=int, default=0, help="long-named custom contact properties to add"
    )
    parser.add_argument("--skip-tier", action="store_true", help="no Professional-tier phase")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--profile", action="store_true", help="cProfile the large full load")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        Path(args.worker_out).write_text(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.quick:
        args.contacts, args.changed, args.tier_contacts, args.tier_changed = 5_000, 1_000, 2_000, 400
    with tempfile.TemporaryDirectory(prefix="bench-extract-airflow-") as airflow_home:
        os.environ.setdefault("AIRFLOW_HOME", airflow_home)  # workers inherit it; nothing lands in ~/airflow
        rows, extras = run(args)
    print_table(rows, extras)
    if args.json:
        print(json.dumps({"rows": rows, "extras": extras}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
