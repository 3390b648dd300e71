"""`make airflow`: the real Airflow 3 services on this machine, in the background, without Docker.

Starts the api-server, scheduler (LocalExecutor, as many parallel tasks as the machine has cores),
dag-processor and triggerer with:
- PostgreSQL for everything: the Airflow metadata database `<name>_airflow` and, apart from it, the
  warehouse `<name>_warehouse`, on the server of HUBSPOT_SYNC_PG_URL or else on the embedded server
  `make demo` uses (started when not running). Never SQLite: it cannot take concurrent services.
- the local HubSpot sandbox as the HubSpot account (its portal kept across restarts), unless
  AIRFLOW_CONN_HUBSPOT_DEFAULT is set; likewise AIRFLOW_CONN_POSTGRES_DEFAULT replaces the warehouse.
- a login: the simple auth manager, user admin, a password generated once.
Extraction runs on its schedule at once; the DAGs that write to HubSpot (reconciliation too: it
carries out erasure requests) start paused until you unpause them. Home, secrets, pids and logs
are in the state directory (.airflow-local/, git-ignored); `source .airflow-local/env.sh` gives a
shell the same Airflow for the `airflow` CLI (e.g. `airflow connections add`). A second start says
it is already running; `make airflow-stop` (--stop) stops what the start started. AIRFLOW__*
variables set in your environment override the settings chosen here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hubspot_sandbox.testing import free_port  # noqa: E402
from scripts import demo  # noqa: E402
from scripts.pg import PG_URL_ENV, airflow_conn_json, check_reachable, start_embedded, with_database  # noqa: E402

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
SIMPLE_AUTH = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
USER = "admin"
START_TIMEOUT_S = 240
STOP_TIMEOUT_S = 15


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stop", action="store_true", help="stop the services this script started")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".airflow-local")
    parser.add_argument("--name", default="hubspot_sync_local", help="prefix of the two databases")
    parser.add_argument("--port", type=int, default=8080, help="api-server port (UI and REST API)")
    parser.add_argument("--seed", default=demo.SANDBOX_SEED, help="records the sandbox starts with")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state = args.state_dir.resolve()
    if args.stop:
        return stop(state)
    running = read_json(state / "pids.json")
    if running and all(alive(process) for process in running["pids"].values()):
        print(f"Airflow is already running (`make airflow-stop` stops it).\n{login_text(running, state)}")
        return 0
    if running:
        print("Some services of the last start have exited; stopping the rest and starting again.")
        stop(state)
    return start(args, state)


def start(args: argparse.Namespace, state: Path) -> int:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", args.port)) == 0:
            sys.exit(
                f"Port {args.port} is taken by another program: pick another with --port (AIRFLOW_PORT=)"
            )
    (state / "logs").mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)  # secrets and the login live here
    record: dict = {"pids": {}, "url": f"http://127.0.0.1:{args.port}", "started_pg": False}
    server_url, record["started_pg"] = postgres_server()
    metadata_url = ensure_database(server_url, f"{args.name}_airflow")
    warehouse_url = ensure_database(server_url, f"{args.name}_warehouse")
    hubspot_conn = os.environ.get("AIRFLOW_CONN_HUBSPOT_DEFAULT")
    if hubspot_conn is None:
        record["pids"]["hubspot-sandbox"], hubspot_url = start_sandbox(state, args.seed)
        hubspot_conn = json.dumps(
            {
                "conn_type": "http",
                "host": hubspot_url,
                "password": demo.SANDBOX_TOKEN,
                "extra": {"rate_limit_tier": "professional"},
            }
        )
        print(f"HubSpot: the local sandbox at {hubspot_url} ({args.seed}), portal kept in {state}/sandbox")
    else:
        print("HubSpot: the account of AIRFLOW_CONN_HUBSPOT_DEFAULT")
    env = airflow_env(state, args.port, metadata_url, hubspot_conn)
    env.setdefault("AIRFLOW_CONN_POSTGRES_DEFAULT", airflow_conn_json(warehouse_url))
    write_env_file(state, env)
    write_json(state / "pids.json", record)  # so that --stop can clean up a start that fails below
    print(f"Airflow metadata: database {args.name}_airflow; warehouse: database {args.name}_warehouse")
    print("Migrating the Airflow metadata database ...", flush=True)
    migrate = [sys.executable, "-m", "airflow", "db", "migrate"]
    if run_logged(migrate, env, state / "logs" / "db-migrate").wait() != 0:
        print(f"`airflow db migrate` failed; see {state}/logs/db-migrate.log")
        stop(state)
        return 1
    for service in SERVICES:
        command = [sys.executable, "-m", "airflow", service]
        record["pids"][service] = identity(run_logged(command, env, state / "logs" / service))
    write_json(state / "pids.json", record)
    print(f"Started {', '.join(SERVICES)}; waiting for them to report healthy ...", flush=True)
    problem = wait_healthy(record, state)
    if problem:
        print(problem)
        stop(state)
        return 1
    print(login_text(record, state))
    return 0


def postgres_server() -> tuple[str, bool]:
    """The server URL, and whether this start had to start the embedded server."""
    if os.environ.get(PG_URL_ENV):
        check_reachable(os.environ[PG_URL_ENV])
        print(f"PostgreSQL: the server of {PG_URL_ENV}")
        return os.environ[PG_URL_ENV], False
    was_running = (demo.EMBEDDED_PG_DIR / "postmaster.pid").exists()
    url = start_embedded(demo.EMBEDDED_PG_DIR, cleanup_mode=None).get_uri()
    print(f"PostgreSQL: the embedded server in {demo.EMBEDDED_PG_DIR}")
    return url, not was_running


def ensure_database(server_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def sqlalchemy_url(libpq_url: str) -> str:
    """A SQLAlchemy URL (psycopg2 driver) for a libpq URL, Unix-socket hosts included."""
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    params = conninfo_to_dict(libpq_url)
    host = params.get("host", "localhost")
    socket = host.startswith("/")
    return URL.create(
        "postgresql+psycopg2",
        username=params.get("user"),
        password=params.get("password") or None,
        host=None if socket else host,
        port=None if socket else int(params.get("port", 5432)),
        database=params["dbname"],
        query={"host": host} if socket else {},
    ).render_as_string(hide_password=False)


def start_sandbox(state: Path, seed: str) -> tuple[list, str]:
    port = free_port()
    command = [sys.executable, "-m", "hubspot_sandbox", "--port", str(port), "--token", demo.SANDBOX_TOKEN]
    command += ["--seed", seed, "--rate-limit", "professional", "--data-dir", str(state / "sandbox")]
    process = run_logged(command, dict(os.environ), state / "logs" / "hubspot-sandbox")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{url}/_sandbox/health", timeout=2).raise_for_status()
            return identity(process), url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"The HubSpot sandbox did not start; see {state}/logs/hubspot-sandbox.log")


def airflow_env(state: Path, port: int, metadata_url: str, hubspot_conn: str) -> dict[str, str]:
    secret = load_secrets(state)
    cores = os.cpu_count() or 2
    settings = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Airflow's default (32 worker processes) swamps a small machine; the tasks wait on the
        # network and PostgreSQL, so one per core keeps it responsive.
        "AIRFLOW__CORE__PARALLELISM": str(max(2, cores)),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": str(min(2, cores)),
        "AIRFLOW__API__WORKERS": "1",
        # Extraction only reads HubSpot; the DAGs that write start paused anyway.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(metadata_url),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # Free ports, so that a second stack (tests, compose) on the machine does not collide.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(state / "passwords.json"),
        # Airflow's own, without the simple auth manager's "looks like production" warning (why there).
        "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS": "scripts.airflow_logging.LOGGING_CONFIG",
        # Every service must share these: tasks authenticate to the api-server with JWTs.
        "AIRFLOW__API_AUTH__JWT_SECRET": secret["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": secret["api_secret_key"],
        "AIRFLOW__CORE__FERNET_KEY": secret["fernet_key"],
    }
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(state / "home"),
        "AIRFLOW_CONN_HUBSPOT_DEFAULT": hubspot_conn,
        "PYTHONWARNINGS": demo.quiet_warnings(),
        # scripts.airflow_logging, for the services and for the CLI of env.sh run from anywhere
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    for key, value in settings.items():
        env.setdefault(key, value)  # an AIRFLOW__ variable of your own wins, e.g. metrics settings
    return env


def load_secrets(state: Path) -> dict[str, str]:
    """Keys and the login password, generated on the first start and kept (owner-only)."""
    path = state / "secrets.json"
    secret = read_json(path)
    if not secret:
        from cryptography.fernet import Fernet

        secret = {
            "jwt_secret": secrets.token_urlsafe(64),  # HS512 wants a key of 64 bytes or more
            "api_secret_key": secrets.token_urlsafe(32),
            "fernet_key": Fernet.generate_key().decode(),
            "password": secrets.token_urlsafe(12),
        }
        write_json(path, secret)
    write_json(state / "passwords.json", {USER: secret["password"]})
    return secret


def write_env_file(state: Path, env: dict[str, str]) -> None:
    shared = ("AIRFLOW", "HUBSPOT_SYNC", "PYTHONWARNINGS", "PYTHONPATH")
    keys = [key for key in sorted(env) if key.startswith(shared)]
    lines = [f"export {key}={shlex.quote(env[key])}" for key in keys]
    lines.append(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')
    path = state / "env.sh"
    path.write_text("# The environment of the local Airflow services: source it to use the airflow CLI.\n")
    path.chmod(0o600)
    with path.open("a") as file:
        file.write("\n".join(lines) + "\n")


def run_logged(command: list[str], env: dict[str, str], log_stem: Path) -> subprocess.Popen:
    """Start `command` in its own session (so it outlives `make` and stops as one group)."""
    with log_stem.with_suffix(".log").open("ab") as log:
        return subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_healthy(record: dict, state: Path) -> str | None:
    """None once the api-server reports every component healthy; else what went wrong."""
    deadline = time.monotonic() + START_TIMEOUT_S
    health: dict = {}
    while time.monotonic() < deadline:
        for name, process in record["pids"].items():
            if not alive(process):
                tail = (state / "logs" / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
                return f"{name} exited at start-up; {state}/logs/{name}.log ends:\n  " + "\n  ".join(tail)
        try:
            health = httpx.get(f"{record['url']}/api/v2/monitor/health", timeout=5).json()
            if all(part.get("status") == "healthy" for part in health.values()):
                return None
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    return f"not healthy after {START_TIMEOUT_S} s: {health or 'the api-server does not answer'}"


def login_text(record: dict, state: Path) -> str:
    password = read_json(state / "secrets.json")["password"]
    return (
        f"Airflow UI and REST API: {record['url']}  (user {USER}, password {password})\n"
        f"Logs: {state}/logs/   Airflow CLI: source {state}/env.sh && airflow dags list\n"
        "The DAGs that write to HubSpot start paused: `make preflight` says what they lack before you\n"
        "unpause them"
    )


def stop(state: Path) -> int:
    record = read_json(state / "pids.json")
    if not record:
        print("No local Airflow is running.")
        return 0
    leaders, everyone = [], []
    for name, (pid, created) in record["pids"].items():
        if alive((pid, created)):
            leader = psutil.Process(pid)
            # Task processes run in sessions of their own: collect them before their parent goes.
            everyone += [leader, *leader.children(recursive=True)]
            # Only the service itself is told: it stops its workers in order (a whole process group
            # signalled at once can leave the scheduler waiting on workers that are already gone).
            leader.terminate()
            leaders.append(leader)
            print(f"Stopping {name} (pid {pid})")
    # The scheduler waits for running tasks to finish; a stop does not wait long for them.
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and any(running(process) for process in leaders):
        time.sleep(0.2)
    for process in everyone:
        with contextlib.suppress(psutil.Error):
            process.kill()
    (state / "pids.json").unlink()
    if record.get("started_pg"):
        demo.stop()
    return 0


def identity(process: subprocess.Popen) -> list:
    """pid and start time: a pid alone may have been reused by another program since."""
    return [process.pid, psutil.Process(process.pid).create_time()]


def alive(process: list) -> bool:
    pid, created = process
    try:
        found = psutil.Process(pid)
        return found.create_time() == created and running(found)
    except psutil.Error:
        return False


def running(process: psutil.Process) -> bool:
    """Not exited; an exited service stays a zombie until whoever inherited it reaps it."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def write_json(path: Path, data: dict) -> None:
    path.touch(mode=0o600)
    path.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    sys.exit(main())
