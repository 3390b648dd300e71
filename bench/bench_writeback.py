"""Benchmark of the write-back: N PostgreSQL edits of a two-way field pushed to the sandbox, then none.

The sandbox runs in this process (hubspot_sandbox.testing.run_sandbox) with limits off; PostgreSQL comes from
$HUBSPOT_SYNC_PG_URL (`make bench` provides one); a scratch database is created and dropped. The contacts are
mirrored by the extraction engine first, then edited with one UPDATE (the capture trigger fires per row).

    python bench/bench_writeback.py                  # 10,000 edits
    python bench/bench_writeback.py --records 2000   # quicker
    python bench/bench_writeback.py --records 4000 --latency-ms 150 --requests-in-flight 4
                                                     # every API call of the push answered after 150 ms,
                                                     # as HubSpot's take 100-300 ms; 4 calls at once
    python bench/bench_writeback.py --tier professional   # the sandbox enforces 190/10 s; the budget obeys

Reported: the UPDATE's time with the trigger capturing every row, update calls against ceil(N/100), reads
with property history against ceil(N/50), all API calls, seconds and rows per second of the push, API
calls per second against the rate budget's sustained rate, and the calls of a second run with nothing
pending (must be zero). The push draws on the rate budget in PostgreSQL, as in a task.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

PG_URL_ENV = "HUBSPOT_SYNC_PG_URL"
BATCH_UPDATE = "POST /crm/v3/objects/{objectType}/batch/update"
BATCH_READ = "POST /crm/v3/objects/{objectType}/batch/read"
TIER_REQUESTS_PER_10S = {"off": 1_000_000, "starter": 100, "professional": 190}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--tier", choices=sorted(TIER_REQUESTS_PER_10S), default="off")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="the sandbox answers every API call of the push after this long",
    )
    parser.add_argument(
        "--requests-in-flight", type=int, default=1, help="calls at once (parallel.requests_in_flight)"
    )
    args = parser.parse_args()
    base_url = os.environ.get(PG_URL_ENV)
    if not base_url:
        sys.exit(f"{PG_URL_ENV} is not set: run `make bench`, which provides a PostgreSQL")

    import psycopg

    from hubspot_sandbox.testing import run_sandbox
    from hubspot_sync.migrations import apply_migrations
    from scripts.pg import with_database

    name = f"hs_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db_url = with_database(base_url, name)
    try:
        with psycopg.connect(db_url) as conn:
            apply_migrations(conn)
        with run_sandbox(token="bench-token", rate_limit=args.tier) as sandbox:  # noqa: S106
            os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(
                {
                    "conn_type": "http",
                    "host": sandbox.url,
                    "password": sandbox.token,
                    "extra": {"requests_per_10s": TIER_REQUESTS_PER_10S[args.tier]},
                }
            )
            sandbox.seed(contacts=args.records, associations=False)
            report = measure(db_url, sandbox, args)
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps({"bench": "writeback", **report}, indent=2))
    return 0


def measure(db_url: str, sandbox, args: argparse.Namespace) -> dict:
    import psycopg

    from hubspot_sync.config import load_config
    from hubspot_sync.extract.engine import ExtractRequest, ObjectExtractor
    from hubspot_sync.hooks.hubspot import HubSpotHook
    from hubspot_sync.run_metrics import RunInfo
    from hubspot_sync.writeback.engine import ObjectWriteback, WritebackRequest

    contacts = load_config().objects["contacts"]
    with ExitStack() as stack:
        conn = stack.enter_context(psycopg.connect(db_url, autocommit=True))
        budget_conn = stack.enter_context(psycopg.connect(db_url))
        extract = ObjectExtractor(HubSpotHook(), conn, contacts, RunInfo("bench", "extract", "extract"))
        extract.run(ExtractRequest("contacts", window_end_ms=int(time.time() * 1000)))
        started = time.perf_counter()
        edited = conn.execute("UPDATE hubspot.contacts SET jobtitle = 'Bench ' || id").rowcount
        update_seconds = time.perf_counter() - started
        request = WritebackRequest("contacts", contacts.two_way.rules(), dict(contacts.properties))
        report: dict = {
            "records": args.records,
            "tier": args.tier,
            "latency_ms": args.latency_ms,
            "requests_in_flight": args.requests_in_flight,
            "edited": edited,
            "update_statement_seconds": round(update_seconds, 2),
        }
        if args.latency_ms:
            sandbox.set_faults({"latencyMs": args.latency_ms})
        for run_id in ("push", "settled"):
            sandbox.reset_stats()
            hook = HubSpotHook(budget_conn_factory=lambda: budget_conn)
            writeback = ObjectWriteback(
                hook,
                conn,
                request,
                RunInfo("bench", run_id, "writeback"),
                requests_in_flight=args.requests_in_flight,
            )
            started = time.perf_counter()
            counts = writeback.run()
            seconds = time.perf_counter() - started
            stats = sandbox.stats()
            report[run_id] = {
                "update_calls": stats["byEndpoint"].get(BATCH_UPDATE, 0),
                "ideal_update_calls": math.ceil(edited / 100) if run_id == "push" else 0,
                "read_calls": stats["byEndpoint"].get(BATCH_READ, 0),
                "ideal_read_calls": math.ceil(edited / 50) if run_id == "push" else 0,
                "api_calls": stats["total"],
                "entries_synced": counts.get("entries_synced", 0),
                "seconds": round(seconds, 2),
                "rows_per_second": round(edited / seconds) if run_id == "push" else None,
                "api_calls_per_second": round(stats["total"] / seconds, 1),
                "budget_calls_per_second": round(hook.budget.buckets["standard"].rate, 1),
            }
            print(f"{run_id}: {json.dumps(report[run_id])}", flush=True)
    return report


if __name__ == "__main__":
    raise SystemExit(main())
