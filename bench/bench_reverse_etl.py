"""Benchmark of the reverse ETL: 100,000 changed rows pushed to the sandbox, then a run with no change.

The sandbox runs in this process (hubspot_sandbox.testing.run_sandbox); each push runs in a fresh child
process so that its peak RSS (VmHWM) is the push's own, not the sandbox's. PostgreSQL comes from
$HUBSPOT_SYNC_PG_URL (`make bench` provides one); a scratch database is created and dropped.

    python bench/bench_reverse_etl.py                    # 100,000 rows, sandbox limits off
    python bench/bench_reverse_etl.py --rows 20000       # quicker
    python bench/bench_reverse_etl.py --tier professional   # the sandbox enforces 190/10 s; the budget obeys
    python bench/bench_reverse_etl.py --rows 20000 --latency-ms 150 --requests-in-flight 4
                                                         # every API call answered after 150 ms, as
                                                         # HubSpot's take 100-300 ms; 4 batch calls at once

Reported per run: batch calls against ceil(N/100), all API calls, 429s, seconds, rows per second, batch
calls per second against what the rate budget allows (the budget's sustained rate), peak RSS.
Runs: first push (every row new: upserts create the contacts), every row changed (upserts update them),
and nothing changed (must cost zero calls).

    python bench/bench_reverse_etl.py --isolation --trials 20   # cost of isolating bad rows

With --isolation it measures instead what HubSpot's all-or-nothing batches cost: batches of 100 upserts
with k inputs HubSpot refuses, at random places (seeded), sent through the reverse ETL's sender
(reverse_etl/send.py); reported per k: batch calls (min, mean, max over the trials), when the 400 names
the refused inputs and when it names only the property (then the batch is bisected).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

PG_URL_ENV = "HUBSPOT_SYNC_PG_URL"
BATCH_UPSERT = "POST /crm/v3/objects/{objectType}/batch/upsert"
TIER_REQUESTS_PER_10S = {"off": 1_000_000, "starter": 100, "professional": 190}
ISOLATION_BAD_COUNTS = (0, 1, 2, 5, 10, 25, 50, 100)


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def push_once(
    db_url: str, conn_json: str, run_id: str, requests_in_flight: int, results: multiprocessing.Queue
) -> None:
    """One run of the shipped contact_usage_score model, in a child process."""
    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = conn_json
    import psycopg

    from hubspot_sync.config import load_config
    from hubspot_sync.hooks.hubspot import HubSpotHook
    from hubspot_sync.reverse_etl.engine import Settings, push_model
    from hubspot_sync.run_metrics import RunInfo

    model = load_config().models["contact_usage_score"]
    settings = Settings(requests_in_flight=requests_in_flight)
    with psycopg.connect(db_url) as conn, psycopg.connect(db_url) as budget_conn:
        hook = HubSpotHook(budget_conn_factory=lambda: budget_conn)
        started = time.perf_counter()
        run = RunInfo("bench", run_id, "push")
        summary = push_model(conn, hook, "contact_usage_score", model, run, settings)
        seconds = time.perf_counter() - started
        budget_per_second = hook.budget.buckets["standard"].rate
    results.put(
        {
            "summary": summary.as_dict(),
            "seconds": seconds,
            "peak_rss_mib": peak_rss_mib(),
            "budget_per_second": budget_per_second,
        }
    )


def run_push(db_url: str, conn_json: str, run_id: str, requests_in_flight: int) -> dict:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=push_once, args=(db_url, conn_json, run_id, requests_in_flight, results))
    child.start()
    outcome = results.get(timeout=3600)
    child.join()
    return outcome


def fill_source(db_url: str, rows: int, events: int) -> None:
    import psycopg

    with psycopg.connect(db_url) as conn:
        conn.execute(
            "CREATE SCHEMA IF NOT EXISTS app; CREATE TABLE IF NOT EXISTS app.product_usage "
            "(email text PRIMARY KEY, events_30d integer NOT NULL, active_days_30d integer NOT NULL, "
            "last_seen_at timestamptz)"
        )
        conn.execute(
            "INSERT INTO app.product_usage SELECT 'user' || n || '@example.com', %s::int, n %% 31, "
            "timestamptz '2026-03-01 00:00+00' + n * interval '1 second' "
            "FROM generate_series(1, %s::int) AS n "
            "ON CONFLICT (email) DO UPDATE SET events_30d = EXCLUDED.events_30d",
            (events, rows),
        )


def isolation_costs(
    db_url: str, sandbox, conn_json: str, trials: int, seed: int, requests_in_flight: int
) -> dict:
    """Batch calls to get one batch of 100 written when k of its inputs are refused."""
    import random
    import statistics

    import psycopg

    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = conn_json
    from hubspot_sync.config import load_config
    from hubspot_sync.hooks.hubspot import HubSpotHook
    from hubspot_sync.reverse_etl.diff import Change
    from hubspot_sync.reverse_etl.send import BatchSender
    from hubspot_sync.run_metrics import RunInfo

    shipped = load_config().models["contact_usage_score"]
    model = shipped.model_copy(update={"properties": {"tier": "customer_tier"}})
    draw = random.Random(seed)
    report: dict = {}
    with psycopg.connect(db_url) as conn, psycopg.connect(db_url) as budget_conn:
        for names_inputs in (True, False):
            sandbox.set_config(batchErrorsNameInputs=names_inputs)
            mode = "refusal_names_inputs" if names_inputs else "refusal_names_property_only"
            report[mode] = {}
            for bad_count in ISOLATION_BAD_COUNTS:
                calls = []
                for trial in range(trials):
                    bad = set(draw.sample(range(100), bad_count))
                    items = []
                    for n in range(100):
                        tier = "diamond" if n in bad else "gold"  # diamond is no option of customer_tier
                        key = f"k{bad_count}_t{trial}_{n}@example.com"
                        change = Change(key, "upsert", {"customer_tier": tier}, {"customer_tier": None})
                        items.append((change, {"customer_tier": tier}))
                    hook = HubSpotHook(budget_conn_factory=lambda: budget_conn)
                    run = RunInfo("bench", f"{mode}_{bad_count}_{trial}", "push")
                    sender = BatchSender(
                        conn, hook, "isolation", model, run, requests_in_flight=requests_in_flight
                    )
                    refused = sum(sender.send(items).values())
                    assert refused == bad_count, (refused, bad_count)
                    calls.append(sender.counts.calls)
                report[mode][bad_count] = {
                    "min": min(calls),
                    "mean": round(statistics.mean(calls), 1),
                    "max": max(calls),
                }
                print(f"{mode} k={bad_count}: {json.dumps(report[mode][bad_count])}", flush=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tier", choices=sorted(TIER_REQUESTS_PER_10S), default="off")
    parser.add_argument("--isolation", action="store_true", help="measure the cost of isolating bad rows")
    parser.add_argument("--trials", type=int, default=20, help="batches per bad-row count (--isolation)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="the sandbox answers every API call after this long"
    )
    parser.add_argument(
        "--requests-in-flight", type=int, default=1, help="batch calls at once (parallel.requests_in_flight)"
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
    report: dict = {
        "rows": args.rows,
        "tier": args.tier,
        "latency_ms": args.latency_ms,
        "requests_in_flight": args.requests_in_flight,
        "ideal_batch_calls": math.ceil(args.rows / 100),
    }
    try:
        with psycopg.connect(db_url) as conn:
            apply_migrations(conn)
        with run_sandbox(token="bench-token", rate_limit=args.tier) as sandbox:  # noqa: S106
            conn_json = json.dumps(
                {
                    "conn_type": "http",
                    "host": sandbox.url,
                    "password": sandbox.token,
                    "extra": {"requests_per_10s": TIER_REQUESTS_PER_10S[args.tier]},
                }
            )
            if args.latency_ms:
                sandbox.set_faults({"latencyMs": args.latency_ms})
            if args.isolation:
                costs = isolation_costs(
                    db_url, sandbox, conn_json, args.trials, args.seed, args.requests_in_flight
                )
                print(
                    json.dumps({"bench": "reverse_etl_isolation", "trials": args.trials, **costs}, indent=2)
                )
                return 0
            for run_id, events in (("first_push", 10), ("all_changed", 20), ("no_change", 20)):
                fill_source(db_url, args.rows, events)
                sandbox.reset_stats()
                outcome = run_push(db_url, conn_json, run_id, args.requests_in_flight)
                stats = sandbox.stats()
                summary = outcome["summary"]
                report[run_id] = {
                    "batch_calls": stats["byEndpoint"].get(BATCH_UPSERT, 0),
                    "api_calls": stats["total"],
                    "rate_limited_429": stats["rateLimited"]["total"],
                    "records_written": summary["records_written"],
                    "seconds": round(outcome["seconds"], 2),
                    "rows_per_second": round(args.rows / outcome["seconds"]),
                    "batch_calls_per_second": round(
                        stats["byEndpoint"].get(BATCH_UPSERT, 0) / outcome["seconds"], 1
                    ),
                    "budget_calls_per_second": round(outcome["budget_per_second"], 1),
                    "peak_rss_mib": round(outcome["peak_rss_mib"], 1),
                }
                print(f"{run_id}: {json.dumps(report[run_id])}", flush=True)
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps({"bench": "reverse_etl", **report}, indent=2))
    ok = (
        report["first_push"]["batch_calls"] == report["ideal_batch_calls"]
        and report["all_changed"]["batch_calls"] == report["ideal_batch_calls"]
        and report["no_change"]["api_calls"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
