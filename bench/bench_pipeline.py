"""Extraction benchmark of the whole `hubspot_extract` work: companies, contacts, deals and associations.

The sandbox runs as its own process with associations seeded; each phase runs the three object types at
once, then the association step, each task in a process of its own as the DAG runs them (without
Airflow's own overhead), so the peak RSS (the largest task's) is the extraction's alone. Per phase: API
calls against the minimum, records/s, 429s, peak RSS and, at the Professional tier, the share of its
10-second rate budget used (standard calls per 10 s against 190) and the budget the hook sized.

Phases:
  full load     first run: list pages (associations inline) for every type
  incremental   after C contacts, C/5 companies and 2C/5 deals changed (batch update)
  idle          nothing changed since: properties, one search per type, archive pages, sweep slice

    python bench/bench_pipeline.py                  # 20,000 contacts, 4,000 companies, 8,000 deals,
                                                    # limits off, then 150 ms a call at Professional
    python bench/bench_pipeline.py --quick          # smoke run
    python bench/bench_pipeline.py --latency-ms 0   # limits off only
    python bench/bench_pipeline.py --no-tier-in-connection   # the tier learnt from HubSpot's headers
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_extract import (  # noqa: E402
    PG_URL_ENV,
    QUIET,
    TOKEN,
    UNLIMITED,
    BenchDatabase,
    Sandbox,
    budget_factory,
    proc_status_kib,
)

from hubspot_sandbox.testing import sandbox_process  # noqa: E402
from hubspot_sync.config import load_config  # noqa: E402

OBJECTS = ("companies", "contacts", "deals")
TIER_LIMITS = {"professional": 190, "starter": 100}
SEARCH_LIMIT = 5  # CRM search requests per second, every tier
# The search window's overlap, short: each phase starts after the index lag has passed, and a 15-minute
# schedule's window holds only its own changes (3 minutes would make the idle run re-read the last phase's).
LOOKBACK_MS = 1_000
PROPERTY_FOR = {"contacts": "jobtitle", "companies": "city", "deals": "dealname"}


def task(spec: dict[str, Any]) -> dict[str, Any]:
    """One task of the DAG in this process: an object type's extraction, or the association step."""
    import psycopg

    from hubspot_sync.extract.associations import extract_associations
    from hubspot_sync.extract.engine import ExtractRequest, ObjectExtractor
    from hubspot_sync.hooks.hubspot import HubSpotHook
    from hubspot_sync.objects import ASSOCIATION_TYPES
    from hubspot_sync.run_metrics import RunInfo, RunSummary

    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(
        {"conn_type": "http", "host": spec["url"], "password": TOKEN, "extra": spec["extra"]}
    )
    config = load_config()
    db_url = spec["db_url"]
    hook = HubSpotHook(budget_conn_factory=budget_factory(spec))
    object_type = spec["task"]
    records, details = 0, {}
    # Started together once every task of the stage has imported what it needs (a barrier on files).
    Path(spec["barrier"], f"{object_type}.ready").touch()
    while not Path(spec["barrier"], "go").exists():
        time.sleep(0.01)
    started = time.time()
    with psycopg.connect(db_url, autocommit=True) as conn:
        if object_type == "associations":
            summary = RunSummary("associations")
            extract_associations(
                hook,
                conn,
                list(ASSOCIATION_TYPES),
                summary,
                spec["run_id"],
                round(config.thresholds.association_sweep_hours * 3_600_000),
                requests_in_flight=spec["readers"],
            )
            details = summary.details
        else:
            request = ExtractRequest(
                object_type,
                window_end_ms=int(time.time() * 1000),
                lookback_ms=LOOKBACK_MS,
                archive_sweep_ms=config.thresholds.archive_sweep_minutes * 60_000,
                associations=tuple(a for a in ASSOCIATION_TYPES if a.from_type == object_type),
                readers=spec["readers"],
                split_min_records=config.parallel.split_min_records,
            )
            run = RunInfo("bench", spec["run_id"], object_type)
            records = ObjectExtractor(hook, conn, config.objects[object_type], run).run(request).records_read
    sized = hook.budget.buckets["standard"] if hook.budget else None
    hook.close()
    return {
        "records_read": records,
        "seconds": time.time() - started,
        "by_operation": dict(hook.stats.by_operation),
        "rate_limited": hook.stats.rate_limited,
        "associations": details,
        "budget_rate_per_10s": round(sized.rate * 10, 1) if sized else None,
        "peak_rss_mib": proc_status_kib("VmHWM") / 1024,
    }


def run_tasks(spec: dict[str, Any]) -> dict[str, Any]:
    """The object types at once, each in its own process as the DAG runs them, then the association
    step; peak RSS is the largest task's."""
    objects = run_stage(spec, OBJECTS)
    associations = run_stage(spec, ["associations"])
    results = objects + associations
    # Each stage lasts as long as its longest task (they start together); process start-up is left out.
    seconds = max(result["seconds"] for result in objects) + associations[0]["seconds"]
    calls: Counter = Counter()
    for result in results:
        calls.update(result["by_operation"])
    return {
        "seconds": seconds,
        "records_read": sum(result["records_read"] for result in results),
        "hook": {
            "api_calls": sum(calls.values()),
            "by_operation": dict(calls),
            "rate_limited": sum(result["rate_limited"] for result in results),
        },
        "associations": results[-1]["associations"],
        "budget_rate_per_10s": results[-1]["budget_rate_per_10s"],
        "peak_rss_mib": max(result["peak_rss_mib"] for result in results),
    }


def run_stage(spec: dict[str, Any], tasks: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    """Tasks at once, each in its own process, started together once all are ready."""
    with tempfile.TemporaryDirectory(prefix="bench-barrier-") as barrier:

        def go_when_ready() -> None:
            deadline = time.monotonic() + 120  # a task that failed before it was ready fails the stage
            while not all(Path(barrier, f"{name}.ready").exists() for name in tasks):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            Path(barrier, "go").touch()

        with ThreadPoolExecutor(max_workers=len(tasks) + 1) as pool:
            pool.submit(go_when_ready)
            return list(pool.map(run_task, [{**spec, "task": name, "barrier": barrier} for name in tasks]))


def run_task(spec: dict[str, Any]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    try:
        subprocess.run(
            [sys.executable, __file__, "--task", json.dumps(spec), "--task-out", out_path],
            cwd=ROOT,
            check=True,
        )
        return json.loads(Path(out_path).read_text())
    finally:
        Path(out_path).unlink(missing_ok=True)


def change(sandbox: Sandbox, db: BenchDatabase, object_type: str, count: int) -> None:
    """Batch-update `count` random records of `object_type`, as users' edits would."""
    import psycopg

    with psycopg.connect(db.url) as conn:
        rows = conn.execute(
            f"SELECT id FROM hubspot.{object_type} WHERE NOT archived ORDER BY random() LIMIT %s", (count,)
        ).fetchall()
    ids = [str(row[0]) for row in rows]
    with sandbox.api() as client:
        for start in range(0, len(ids), 100):
            value = f"Bench {time.time_ns()}"
            inputs = [
                {"id": i, "properties": {PROPERTY_FOR[object_type]: value}} for i in ids[start : start + 100]
            ]
            client.post(
                f"/crm/v3/objects/{object_type}/batch/update", json={"inputs": inputs}
            ).raise_for_status()


def phase(
    sandbox: Sandbox, db: BenchDatabase, name: str, extra: dict, tier: str | None, readers: int
) -> dict[str, Any]:
    sandbox.control("DELETE", "stats")
    spec = {
        "url": sandbox.url,
        "db_url": db.url,
        "extra": extra,
        "run_id": f"bench_{name}_{time.time_ns()}",
        "readers": readers,
    }
    result = run_tasks(spec)
    stats = sandbox.control("GET", "stats")
    searches = result["hook"]["by_operation"].get("objects.search", 0)
    standard = result["hook"]["api_calls"] - searches
    share = standard / result["seconds"] * 10 / TIER_LIMITS[tier] if tier and result["seconds"] else None
    search_share = searches / result["seconds"] / SEARCH_LIMIT if tier and result["seconds"] else None
    return {
        "phase": name,
        "records": result["records_read"],
        "seconds": round(result["seconds"], 1),
        "records_per_s": round(result["records_read"] / result["seconds"]) if result["seconds"] else 0,
        "api_calls": result["hook"]["api_calls"],
        "429s": stats["rateLimited"]["total"],
        "peak_rss_mib": round(result["peak_rss_mib"]),
        "budget_share": f"{share:.0%}" if share is not None else "",
        "search_share": f"{search_share:.0%}" if search_share is not None else "",
        "budget_per_10s": result["budget_rate_per_10s"] if tier else None,
        "swept": sum(
            details.get("swept_sources", 0)
            for details in result["associations"].values()
            if isinstance(details, dict)
        ),
        "by_operation": result["hook"]["by_operation"],
    }


def minimums(counts: dict[str, int], changed: dict[str, int]) -> dict[str, int]:
    """The fewest calls each phase can make through the list API: per type properties + pages + one
    archive page; for an incremental run one search page per 200 changed and one association read per
    1,000 changed sources and association type (deals are the source of two). The sweep's slice comes
    on top (column `swept`: records whose associations it read, 1,000 a call). A full load split
    between the list and search (parallel.split_min_records) can go under its minimum: a search page
    holds 200 records, and its associations cost a call per 1,000."""
    pages = sum(math.ceil(n / 100) for n in counts.values())
    per_type = 2 * len(OBJECTS)  # properties, archive page
    searches = sum(max(1, math.ceil(n / 200)) for n in changed.values())
    association_reads = math.ceil(changed["contacts"] / 1000) + 2 * math.ceil(changed["deals"] / 1000)
    return {
        "full load": per_type + pages,
        "incremental": per_type + searches + association_reads,
        "idle": per_type + len(OBJECTS),
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    server_url = os.environ.get(PG_URL_ENV)
    if not server_url:
        sys.exit(f"{PG_URL_ENV} is not set: run through `make bench` or scripts/with_postgres.py")
    rows: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        process = stack.enter_context(sandbox_process(*QUIET, token=TOKEN))
        sandbox = Sandbox(process.url)
        for latency_ms in dict.fromkeys([] if args.latency_only else [0]) | dict.fromkeys([args.latency_ms]):
            db = BenchDatabase(server_url)
            try:
                rows += run_phases(args, sandbox, db, latency_ms)
            finally:
                db.drop()
    return rows


def run_phases(args: argparse.Namespace, sandbox: Sandbox, db: BenchDatabase, latency_ms: int) -> list[dict]:
    """Full load, incremental and idle; with `latency_ms`, at the Professional tier with that latency."""
    counts = {"companies": args.companies, "contacts": args.contacts, "deals": args.deals}
    changed = {"companies": args.changed // 5, "contacts": args.changed, "deals": 2 * args.changed // 5}
    tier = "professional" if latency_ms else None
    extra: dict[str, Any] = dict(UNLIMITED)
    if tier:
        extra = {} if args.no_tier_in_connection else {"rate_limit_tier": tier}
    suffix = f", {latency_ms} ms" if latency_ms else ""
    sandbox.control("POST", "reset")
    sandbox.control("DELETE", "faults")
    sandbox.control("PUT", "limits", {"tier": "off"})
    sandbox.control("POST", "seed", {**counts, "seed": 1})
    if tier:
        sandbox.control("PUT", "faults", {"latencyMs": latency_ms})
        sandbox.control("PUT", "limits", {"tier": tier})
    minimum = minimums(counts, changed)
    readers = args.requests_in_flight or load_config().parallel.requests_in_flight
    rows = [
        {**phase(sandbox, db, "full load" + suffix, extra, tier, readers), "minimum": minimum["full load"]}
    ]
    sandbox.control("PUT", "limits", {"tier": "off"})  # the edits are not the extractor's budget
    for object_type, count in changed.items():
        change(sandbox, db, object_type, count)
    if tier:
        sandbox.control("PUT", "limits", {"tier": tier})
    sandbox.wait_for_search_index()
    rows.append(
        {
            **phase(sandbox, db, "incremental" + suffix, extra, tier, readers),
            "minimum": minimum["incremental"],
        }
    )
    time.sleep(LOOKBACK_MS / 1000)  # the idle run's window starts after the changes
    rows.append({**phase(sandbox, db, "idle" + suffix, extra, tier, readers), "minimum": minimum["idle"]})
    sandbox.control("DELETE", "faults")
    return rows


HEADERS = [
    "phase",
    "records",
    "seconds",
    "records_per_s",
    "api_calls",
    "minimum",
    "swept",
    "429s",
    "peak_rss_mib",
]


def print_table(rows: list[dict[str, Any]], verbose: bool) -> None:
    budget = ["budget_share", "search_share", "budget_per_10s"]
    headers = HEADERS + (budget if any(r["budget_share"] for r in rows) else [])
    widths = {h: max(len(h), *(len(_fmt(r[h])) for r in rows)) for h in headers}
    print("  ".join(h.ljust(widths[h]) for h in headers))
    for r in rows:
        print("  ".join(_fmt(r[h]).ljust(widths[h]) for h in headers))
    if verbose:
        for r in rows:
            print(f"{r['phase']}: {json.dumps(r['by_operation'])}")


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--companies", type=int, default=4_000)
    parser.add_argument("--deals", type=int, default=8_000)
    parser.add_argument(
        "--changed", type=int, default=1_000, help="contacts changed (companies a fifth, deals two fifths)"
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=150,
        help="then the same at this per-call latency and the Professional tier (0: not)",
    )
    parser.add_argument(
        "--no-tier-in-connection", action="store_true", help="latency phases: the tier learnt from headers"
    )
    parser.add_argument(
        "--requests-in-flight",
        type=int,
        default=None,
        help="HubSpot calls each object task keeps in flight (default: parallel.requests_in_flight)",
    )
    parser.add_argument(
        "--latency-only", action="store_true", help="only the phases at --latency-ms, not limits off first"
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--verbose", action="store_true", help="calls per operation")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--task-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        Path(args.task_out).write_text(json.dumps(task(json.loads(args.task))))
        return 0
    if args.quick:
        args.contacts, args.companies, args.deals, args.changed = 2_000, 400, 800, 100
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-airflow-") as airflow_home:
        os.environ.setdefault("AIRFLOW_HOME", airflow_home)
        rows = run(args)
    print_table(rows, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
