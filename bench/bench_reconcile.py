"""Reconciliation benchmark: ObjectReconciler through the HubSpot hook, sandbox over HTTP, real PostgreSQL.

Contacts only. N contacts are seeded and mirrored by a full extraction (bench_extract's worker), then
1% drift is injected through the sandbox, a quarter of each kind: values changed silently
(`POST /_sandbox/drift`: last-modified and search untouched), records deleted for good
(`gdpr-delete`), records updated through the API (stale in the mirror), records created (missing).
Each reconciliation runs in a fresh worker process, so its peak RSS (VmHWM) is its own.

Phases:
  report          ids, states, last-modified and value hashes compared; findings only. Calls against
                  the minimum: ceil(live / 100) + ceil(archived / 100) list pages (at least one each)
  rss baseline    the same at a tenth of N: peak RSS must not grow with N
  repair          the same comparison, then: 1 property discovery, ceil(re-read / 100) batch reads
                  landing missing, stale and drifted records, 2 * ceil(deleted / 100) batch reads
                  confirming deletions (live and archived) before rows are removed
  after repair    a third run finds nothing
  professional    report mode with the sandbox enforcing 190 requests / 10 s and the hook at the same
                  tier: 429s (aim 0) and the share of the window used

    python bench/bench_reconcile.py                    # 20,000 contacts (about a minute)
    python bench/bench_reconcile.py --contacts 100000
    python bench/bench_reconcile.py --contacts 1000000 # the flat-RSS check at a million
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import sys
import tempfile
import time
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
    extract,
    print_table,
    proc_status_kib,
)

from hubspot_sandbox.testing import sandbox_process  # noqa: E402

PROFESSIONAL = {"rate_limit_tier": "professional"}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one ObjectReconciler.run in this process; return counts, timings and memory."""
    import psycopg

    from hubspot_sync.config import load_config
    from hubspot_sync.hooks.hubspot import HubSpotHook
    from hubspot_sync.reconcile.engine import ObjectReconciler, ReconcileRequest
    from hubspot_sync.run_metrics import RunInfo

    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(
        {"conn_type": "http", "host": spec["url"], "password": TOKEN, "extra": spec["extra"]}
    )
    config = load_config()
    with psycopg.connect(spec["db_url"], autocommit=True) as conn:
        hook = HubSpotHook(budget_conn_factory=budget_factory(spec))
        reconciler = ObjectReconciler(
            hook, conn, config.objects["contacts"], RunInfo("bench", spec["phase"], "contacts"), config.models
        )
        request = ReconcileRequest("contacts", actions=config.reconcile.actions(spec["mode"]))
        started = time.perf_counter()
        report = reconciler.run(request)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "records_read": report.hubspot_records,
        "found": report.found,
        "repaired": report.repaired,
        "hook": hook.stats.as_dict(),
        "peak_rss_mib": proc_status_kib("VmHWM") / 1024,
    }


def reconcile(sandbox: Sandbox, db: BenchDatabase, phase: str, mode: str, extra=None) -> dict[str, Any]:
    import subprocess

    sandbox.control("DELETE", "stats")
    spec = {"phase": phase, "mode": mode, "url": sandbox.url, "db_url": db.url, "extra": extra or UNLIMITED}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    try:
        command = [sys.executable, __file__, "--worker", json.dumps(spec), "--worker-out", out_path]
        subprocess.run(command, cwd=ROOT, check=True)
        result = json.loads(Path(out_path).read_text())
    finally:
        Path(out_path).unlink(missing_ok=True)
    result["sandbox"] = sandbox.control("GET", "stats")
    return result


def inject_drift(sandbox: Sandbox, db: BenchDatabase, share: float) -> dict[str, int]:
    """A quarter of `share` of the contacts per kind; returns how many of each were injected."""
    per_kind = max(1, round(db_count(db) * share / 4))
    ids = db.random_ids(per_kind * 3)
    random.Random(1).shuffle(ids)
    drifted, deleted, updated = ids[:per_kind], ids[per_kind : 2 * per_kind], ids[2 * per_kind :]
    with sandbox.api() as client:
        for record_id in drifted:
            body = {"objectType": "contacts", "id": record_id, "properties": {"firstname": "Drifted"}}
            client.post("/_sandbox/drift", json=body).raise_for_status()
        for record_id in deleted:
            client.post(
                "/crm/v3/objects/contacts/gdpr-delete", json={"objectId": record_id}
            ).raise_for_status()
        for start in range(0, per_kind, 100):
            inputs = [{"id": i, "properties": {"jobtitle": "Bench"}} for i in updated[start : start + 100]]
            client.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}).raise_for_status()
            created = [
                {"properties": {"email": f"late{start + n}@bench.example", "firstname": "Late"}}
                for n in range(len(inputs))
            ]
            client.post("/crm/v3/objects/contacts/batch/create", json={"inputs": created}).raise_for_status()
    return {"values_differ": per_kind, "extra": per_kind, "stale": per_kind, "missing": per_kind}


def db_count(db: BenchDatabase) -> int:
    import psycopg

    with psycopg.connect(db.url) as conn:
        return conn.execute("SELECT count(*) FROM hubspot.contacts WHERE NOT archived").fetchone()[0]


def listing_minimum(live: int, archived: int = 0) -> int:
    return max(1, math.ceil(live / 100)) + max(1, math.ceil(archived / 100))


def row(phase: str, result: dict[str, Any], minimum: int, note: str = "") -> dict[str, Any]:
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


def _found(result: dict[str, Any]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(result["found"].items())) or "nothing"


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    server_url = os.environ.get(PG_URL_ENV)
    if not server_url:
        sys.exit(f"{PG_URL_ENV} is not set: run through `make bench` or scripts/with_postgres.py")
    rows: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        process = stack.enter_context(sandbox_process(*QUIET, token=TOKEN))
        sandbox = Sandbox(process.url)
        db = BenchDatabase(server_url)
        stack.callback(db.drop)

        baseline = max(1000, args.contacts // 10)
        sandbox.reseed(baseline)
        extract(sandbox, db, "mirror_baseline", full=True)
        result = reconcile(sandbox, db, "rss_baseline", "report")
        rows.append(row(f"report {baseline:,} (no drift)", result, listing_minimum(baseline), _found(result)))

        db.reset_contacts()
        sandbox.reseed(args.contacts)
        extract(sandbox, db, "mirror", full=True)
        injected = inject_drift(sandbox, db, args.drift)
        extras["injected"] = injected
        live = args.contacts  # as many created as deleted
        result = reconcile(sandbox, db, "report", "report")
        rows.append(
            row(
                f"report {args.contacts:,}, {args.drift:.0%} drift",
                result,
                listing_minimum(live),
                _found(result),
            )
        )
        extras["found_equals_injected"] = result["found"] == injected

        result = reconcile(sandbox, db, "repair", "repair")
        reread = injected["missing"] + injected["stale"] + injected["values_differ"]
        minimum = listing_minimum(live) + 1 + math.ceil(reread / 100) + 2 * math.ceil(injected["extra"] / 100)
        repaired = sum(result["repaired"].values())
        rows.append(row(f"repair {args.contacts:,}", result, minimum, f"{repaired:,} repaired"))
        extras["repair_calls"] = result["hook"]["by_operation"]

        result = reconcile(sandbox, db, "after_repair", "report")
        rows.append(row("after repair", result, listing_minimum(live), _found(result)))

        if not args.skip_tier:
            sandbox.control("PUT", "limits", {"tier": "professional"})
            result = reconcile(sandbox, db, "professional", "report", extra=PROFESSIONAL)
            window = result["hook"]["api_calls"] / max(result["seconds"], 1e-9) * 10 / 190
            note = f"{window:.0%} of 190 req / 10 s"
            rows.append(row("report at Professional", result, listing_minimum(live), note))
    return rows, extras


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--drift", type=float, default=0.01, help="share of contacts drifted (default 1%%)")
    parser.add_argument("--skip-tier", action="store_true", help="no Professional-tier phase")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        Path(args.worker_out).write_text(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.quick:
        args.contacts = 4_000
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-airflow-") as airflow_home:
        os.environ.setdefault("AIRFLOW_HOME", airflow_home)
        rows, extras = run(args)
    print_table(rows, extras)
    if args.json:
        print(json.dumps({"rows": rows, "extras": extras}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
