"""`make demo`: run the HubSpot sync DAGs end to end on embedded defaults, then show what happened.

Starts the local HubSpot sandbox (seeded with 5,000 contacts, 1,000 companies and 2,000 deals) for the
duration of the demo. Uses the PostgreSQL named by HUBSPOT_SYNC_PG_URL, or starts an embedded one that
keeps running afterwards so the result can be inspected (`make demo-stop` stops it). Airflow runs from
a private home in .demo/airflow with a SQLite metadata database; connections come from AIRFLOW_CONN_*
variables. The DAGs run one after the other with `dag.test()` in this one process (demo_airflow.py),
as `airflow dags test` would run each: Airflow is imported and its database migrated once, not once
per DAG.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.demo_airflow import in_process_airflow  # noqa: E402
from scripts.demo_two_way import two_way_demo  # noqa: E402
from scripts.pg import (  # noqa: E402
    PG_URL_ENV,
    airflow_conn_json,
    check_reachable,
    start_embedded,
    with_database,
)

DEMO_DIR = ROOT / ".demo"
AIRFLOW_HOME = DEMO_DIR / "airflow"
# Short, per-user path: the embedded server's Unix socket lives in its data directory.
EMBEDDED_PG_DIR = Path(tempfile.gettempdir()) / f"hubspot-sync-demo-{getpass.getuser()}" / "pg"
DAG_IDS = ["hubspot_extract", "hubspot_reverse_etl", "hubspot_reconcile"]
DEMO_DATABASE = "hubspot_sync_demo"
SANDBOX_TOKEN = "demo-sandbox-token"  # noqa: S105 - the token the local sandbox is started with
SANDBOX_SEED = "companies=1000,contacts=5000,deals=2000"
# Warnings Airflow's own code raises in every process, about nothing this project can act on:
# graphviz (only `airflow dags show` renders images), pathspec's deprecated 'gitwildmatch' name (how
# Airflow reads .airflowignore), starlette's test client over httpx (`airflow dags test` runs the
# execution API in-process with it).
AIRFLOW_WARNING_FILTERS = (
    "ignore:Could not import graphviz:UserWarning",
    "ignore:GitWildMatchPattern:DeprecationWarning",
    "ignore:Using `httpx` with `starlette.testclient`:UserWarning",
)


@contextlib.contextmanager
def sandbox():
    """The local HubSpot sandbox in its own process on a free port; yields its base URL."""
    from hubspot_sandbox.testing import SandboxStartError, sandbox_process

    log_path = DEMO_DIR / "logs" / "hubspot-sandbox.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    flags = ("--seed", SANDBOX_SEED, "--rate-limit", "professional")
    with log_path.open("w") as log:
        try:
            with sandbox_process(*flags, token=SANDBOX_TOKEN, output=log) as hubspot:
                counts = hubspot.health["records"]
                # Search lags writes by 2-5 s as on HubSpot; the first extraction reads the list API.
                print(f"HubSpot sandbox: {hubspot.url} (professional rate limits) with {counts}")
                yield hubspot.url
        except SandboxStartError as error:
            sys.exit(f"{error}; see {log_path}")


def demo_config() -> Path:
    """The shipped sync configuration without retries: a failure in the demo shows at once."""
    import yaml

    # As hubspot_sync.config.config_path() says, without importing the package: it imports Airflow,
    # which must not happen before this process's Airflow settings are in place (demo_airflow.py).
    shipped = os.environ.get("HUBSPOT_SYNC_CONFIG") or ROOT / "include" / "config" / "sync.yaml"
    config = yaml.safe_load(Path(shipped).read_text())
    config.setdefault("dag_defaults", {})["retries"] = 0
    path = DEMO_DIR / "sync.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def airflow_env(pg_url: str, hubspot_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
            "HUBSPOT_SYNC_CONFIG": str(demo_config()),
            "PYTHONWARNINGS": quiet_warnings(),
            "AIRFLOW_CONN_POSTGRES_DEFAULT": airflow_conn_json(pg_url),
            "AIRFLOW_CONN_HUBSPOT_DEFAULT": json.dumps(
                {
                    "conn_type": "http",
                    "host": hubspot_url,
                    "password": SANDBOX_TOKEN,
                    "extra": {"rate_limit_tier": "professional"},
                }
            ),
        }
    )
    return env


def quiet_warnings() -> str:
    """PYTHONWARNINGS with the filters above, after any of your own."""
    return ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), *AIRFLOW_WARNING_FILTERS]))


def fresh_demo_database(server_url: str) -> str:
    """A new, empty database `hubspot_sync_demo` on the server: each demo starts from scratch and
    nothing else on a server of the user's is touched."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DEMO_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DEMO_DATABASE}")
    print(f"Warehouse: a fresh database {DEMO_DATABASE}")
    return with_database(server_url, DEMO_DATABASE)


def create_demo_properties(hubspot_url: str) -> None:
    """What an admin does once in HubSpot: the custom property the billing-status model writes."""
    body = {
        "name": "billing_status",
        "label": "Billing status",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "dealinformation",
        "options": [
            {"label": label, "value": value, "displayOrder": order, "hidden": False}
            for order, (value, label) in enumerate(
                [("active", "Active"), ("past_due", "Past due"), ("cancelled", "Cancelled")]
            )
        ],
    }
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        f"{hubspot_url}/crm/v3/properties/deals",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def create_example_sources(pg_url: str) -> None:
    """The app tables the example reverse-ETL models read, derived from the extracted records."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute((ROOT / "include" / "sql" / "reverse_etl" / "example_sources.sql").read_text())
    print("Created the example source tables app.product_usage, app.support_tickets, app.invoices")


def show_pushed_value(pg_url: str, hubspot_url: str) -> None:
    """One value the reverse ETL pushed, read back from the sandbox through the public API."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        pushed = conn.execute(
            "SELECT record_key, new_value, previous_value FROM hubspot_sync.push_audit "
            "WHERE model = 'contact_usage_score' AND property = 'usage_score' AND outcome = 'success' "
            "ORDER BY audit_id DESC LIMIT 1"
        ).fetchone()
        counts = conn.execute(
            "SELECT model, count(*) FILTER (WHERE outcome = 'success'), "
            "count(*) FILTER (WHERE outcome = 'failed') "
            "FROM hubspot_sync.push_audit GROUP BY model ORDER BY model"
        ).fetchall()
    print("\nReverse ETL (hubspot_sync.push_audit): property values sent")
    for model, succeeded, failed in counts:
        print(f"  {model:<24} {succeeded:>6} succeeded {failed:>6} failed")
    if pushed is None:
        return
    email, new_value, previous = pushed
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        f"{hubspot_url}/crm/v3/objects/contacts/{urllib.parse.quote(email)}?idProperty=email&properties=usage_score",
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        in_hubspot = json.load(response)["properties"].get("usage_score")
    print(
        f"  read back: contact {email}: usage_score pushed {new_value} (was {previous}); "
        f"the sandbox now says {in_hubspot}"
    )


def inject_drift(pg_url: str, hubspot_url: str) -> None:
    """A little of what incremental sync can miss, for hubspot_reconcile to find and repair."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM hubspot.contacts ORDER BY id LIMIT 3")]
        # A company reverse ETL did not just change (those are merely stale until the next extraction).
        company = conn.execute(
            "SELECT id FROM hubspot.companies AS c WHERE NOT archived AND NOT EXISTS (SELECT 1 FROM "
            "hubspot_sync.push_state AS p WHERE p.record_key = c.id::text) ORDER BY id LIMIT 1"
        ).fetchone()
        if len(ids) < 3 or company is None:
            return
        conn.execute("DELETE FROM hubspot.contacts WHERE id = %s", (ids[2],))  # deleted by hand
    calls = [
        (
            "/_sandbox/drift",
            {"objectType": "companies", "id": str(company[0]), "properties": {"name": "Drifted"}},
        ),
        ("/crm/v3/objects/contacts/gdpr-delete", {"objectId": str(ids[1])}),
    ]
    for path, body in calls:
        request = urllib.request.Request(  # noqa: S310 - the local sandbox
            f"{hubspot_url}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
    print(
        f"  drift injected: company {company[0]} changed silently in HubSpot, contact {ids[1]} deleted "
        f"for good, contact {ids[2]} deleted from hubspot.contacts by hand",
        flush=True,
    )


def show_reconcile(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT object_type, kind, count(*), count(*) FILTER (WHERE repaired) "
            "FROM hubspot_sync.reconcile_findings GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    print("\nReconciliation (hubspot_sync.reconcile_findings), found and repaired:")
    print("  (`stale`: the records reverse ETL changed after the extraction; the rest: the drift injected)")
    for object_type, kind, found, repaired in rows:
        print(f"  {object_type:<30} {kind:<18} {found:>6} found {repaired:>6} repaired")


def report(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        migrations = conn.execute(
            "SELECT version, name, applied_at FROM hubspot_sync.schema_migrations ORDER BY version"
        ).fetchall()
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('hubspot', 'hubspot_sync') ORDER BY 1"
        ).fetchall()
        runs = conn.execute(
            "SELECT DISTINCT ON (task_id) task_id, status, records_read, records_written, records_rejected, "
            "api_calls, extract(epoch FROM finished_at - started_at) "
            "FROM hubspot_sync.run_metrics WHERE dag_id = 'hubspot_extract' ORDER BY task_id, started_at DESC"
        ).fetchall()
        print("\nLast hubspot_extract run (hubspot_sync.run_metrics):")
        header = ("task", "status", "read", "written", "rejected", "API calls", "seconds")
        print("  {:<24}{:<9}{:>8}{:>9}{:>9}{:>10}{:>9}".format(*header))
        for task_id, status, read, written, rejected, calls, seconds in runs:
            print(
                f"  {task_id:<24}{status:<9}{read:>8}{written:>9}{rejected:>9}{calls:>10}{seconds or 0:>9.1f}"
            )
        print("\nMigrations applied:")
        for version, name, applied_at in migrations:
            print(f"  {version:04d}_{name}  at {applied_at:%Y-%m-%d %H:%M:%S %Z}")
        print("\nTables (rows):")
        for (table,) in tables:
            schema, name = table.split(".")
            count = conn.execute(
                psycopg.sql.SQL("SELECT count(*) FROM {}.{}").format(
                    psycopg.sql.Identifier(schema), psycopg.sql.Identifier(name)
                )
            ).fetchone()[0]
            print(f"  {table:<40} {count}")


def psql_hint(pg_url: str) -> str:
    psql = shutil.which("psql")
    if psql is None:
        import pgserver

        psql = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql")
    return f'{psql} "{pg_url}"'


def stop() -> int:
    if not (EMBEDDED_PG_DIR / "postmaster.pid").exists():
        print("No embedded demo PostgreSQL is running.")
        return 0
    if (ROOT / ".airflow-local" / "pids.json").exists():
        print("Not stopped: `make airflow` keeps its metadata there; run `make airflow-stop` first.")
        return 1
    server = start_embedded(EMBEDDED_PG_DIR, cleanup_mode="stop")
    server.cleanup()
    print(f"Stopped the embedded demo PostgreSQL (data kept in {EMBEDDED_PG_DIR}).")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stop", action="store_true", help="stop the embedded demo PostgreSQL")
    args = parser.parse_args()
    if args.stop:
        return stop()

    if os.environ.get(PG_URL_ENV):
        server_url = os.environ[PG_URL_ENV]
        check_reachable(server_url)
        print(f"PostgreSQL: the server of {PG_URL_ENV}")
    else:
        server_url = start_embedded(EMBEDDED_PG_DIR, cleanup_mode=None).get_uri()
        print(f"PostgreSQL: embedded server in {EMBEDDED_PG_DIR} (stop it with `make demo-stop`)")
    pg_url = fresh_demo_database(server_url)

    with sandbox() as hubspot_url:
        run_dag = in_process_airflow(
            airflow_env(pg_url, hubspot_url), DEMO_DIR / "logs", AIRFLOW_WARNING_FILTERS
        )
        print(f"Airflow home: {AIRFLOW_HOME} (metadata migrated)", flush=True)
        outcomes = {}
        for dag_id in DAG_IDS:
            if dag_id == "hubspot_reverse_etl" and outcomes.get("hubspot_extract"):
                create_example_sources(pg_url)
                create_demo_properties(hubspot_url)
            if dag_id == "hubspot_reconcile" and outcomes.get("hubspot_extract"):
                print("Two-way fields: edits on both sides, then hubspot_writeback and hubspot_extract ...")
                outcomes["hubspot_writeback"] = two_way_demo(pg_url, hubspot_url, SANDBOX_TOKEN, run_dag)
                inject_drift(pg_url, hubspot_url)
            print(f"Running {dag_id} with dag.test() ...", flush=True)
            started = time.monotonic()
            outcomes[dag_id] = run_dag(dag_id, dag_id)
            print(
                f"  {'done' if outcomes[dag_id] else 'FAILED'} in {time.monotonic() - started:.0f}s",
                flush=True,
            )
        if outcomes.get("hubspot_reverse_etl"):
            show_pushed_value(pg_url, hubspot_url)
        if outcomes.get("hubspot_reconcile"):
            show_reconcile(pg_url)

    print("\nDAG runs:")
    for dag_id, ok in outcomes.items():
        print(f"  {dag_id:<22} {'success' if ok else 'FAILED'}   log: .demo/logs/{dag_id}.log")
    report(pg_url)
    print(f"\nLook at the result: {psql_hint(pg_url)}")
    return 0 if all(outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
