"""`make demo`: run the HubSpot sync DAGs end to end on embedded defaults, then show what happened.

Uses the PostgreSQL named by HUBSPOT_SYNC_PG_URL, or starts an embedded one that keeps running
afterwards so the result can be inspected (`make demo-stop` stops it). Airflow runs from a private
home in .demo/airflow with a SQLite metadata database; connections come from AIRFLOW_CONN_* variables.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.pg import PG_URL_ENV, airflow_conn_json, check_reachable, start_embedded  # noqa: E402

DEMO_DIR = ROOT / ".demo"
AIRFLOW_HOME = DEMO_DIR / "airflow"
# Short, per-user path: the embedded server's Unix socket lives in its data directory.
EMBEDDED_PG_DIR = Path(tempfile.gettempdir()) / f"hubspot-sync-demo-{getpass.getuser()}" / "pg"
DAG_IDS = ["hubspot_extract", "hubspot_reverse_etl", "hubspot_reconcile"]


def airflow_env(pg_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
            "AIRFLOW_CONN_POSTGRES_DEFAULT": airflow_conn_json(pg_url),
        }
    )
    return env


def run(command: list[str], env: dict[str, str], log_name: str) -> bool:
    log_path = DEMO_DIR / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        result = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        print(f"  FAILED: {' '.join(command[2:])} (exit {result.returncode}); log: {log_path}")
        print("  " + "\n  ".join(log_path.read_text().splitlines()[-15:]))
    return result.returncode == 0


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
        pg_url = os.environ[PG_URL_ENV]
        check_reachable(pg_url)
        print(f"PostgreSQL: {PG_URL_ENV}")
    else:
        pg_url = start_embedded(EMBEDDED_PG_DIR, cleanup_mode=None).get_uri()
        print(f"PostgreSQL: embedded server in {EMBEDDED_PG_DIR} (stop it with `make demo-stop`)")

    env = airflow_env(pg_url)
    airflow = [sys.executable, "-m", "airflow"]
    print(f"Airflow home: {AIRFLOW_HOME}")
    if not run([*airflow, "db", "migrate"], env, "airflow-db-migrate"):
        return 1

    outcomes = {}
    for dag_id in DAG_IDS:
        print(f"Running {dag_id} with `airflow dags test` ...")
        outcomes[dag_id] = run([*airflow, "dags", "test", dag_id], env, dag_id)

    print("\nDAG runs:")
    for dag_id, ok in outcomes.items():
        print(f"  {dag_id:<22} {'success' if ok else 'FAILED'}   log: .demo/logs/{dag_id}.log")
    report(pg_url)
    print(f"\nLook at the result: {psql_hint(pg_url)}")
    return 0 if all(outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
