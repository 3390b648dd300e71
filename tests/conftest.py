"""Test harness: a private AIRFLOW_HOME with a migrated metadata DB, and PostgreSQL databases.

The Airflow settings below must be in the environment before anything imports airflow, which is
why they are set at import time of this conftest rather than in a fixture.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_DAGS = ROOT / "tests" / "dags" / "fixtures"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="hubspot-sync-airflow-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        # dag.test() runs only DAGs it finds in a bundle: the project's, plus the tests' own fixtures.
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(ROOT / "dags")}},
                {"name": "test-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(TEST_DAGS)}},
            ]
        ),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # Signs the API's tokens in tests; long enough for HS512 (Airflow's own default is not).
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
    }
)
for variable in [name for name in os.environ if name.startswith("AIRFLOW_CONN_")]:
    del os.environ[variable]  # a developer's own connections must not leak into tests

PG_URL_ENV = "HUBSPOT_SYNC_PG_URL"


def pytest_unconfigure(config):
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database, created once per test session."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.fail(f"{PG_URL_ENV} is not set: run the tests with `make test`, which provides a PostgreSQL")
    return url


@pytest.fixture
def fresh_db(pg_url: str):
    """A new, empty database on the test server; dropped afterwards."""
    import psycopg

    from scripts.pg import with_database

    name = f"hs_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_url, name)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def warehouse(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database reachable as the Airflow connection `postgres_default`; returns its URL."""
    from scripts.pg import airflow_conn_json

    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DEFAULT", airflow_conn_json(fresh_db))
    return fresh_db


@pytest.fixture(scope="session")
def _sandbox_server():
    from hubspot_sandbox.testing import run_sandbox

    with run_sandbox(search_lag_ms=0) as handle:
        yield handle


@pytest.fixture
def hubspot(_sandbox_server, monkeypatch: pytest.MonkeyPatch):
    """The local HubSpot sandbox, emptied, reachable as the Airflow connection `hubspot_default`.

    Rate limits are off and search has no index lag unless a test turns them on.
    """
    _sandbox_server.reset()
    _sandbox_server.set_limits(tier="off")
    _sandbox_server.set_config(searchLagMs=0)
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {
                "conn_type": "http",
                "host": _sandbox_server.url,
                "password": _sandbox_server.token,
                # Retries back off for milliseconds, not seconds: the sandbox's faults are instant.
                "extra": {"backoff_base_seconds": 0.02},
            }
        ),
    )
    return _sandbox_server


@pytest.fixture
def sync_config(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Write a variant of the shipped sync configuration and make it the active one.

    Call it with nested overrides, e.g. sync_config({"dag_defaults": {"retries": 0}}); DAG runs
    under dag.test() then fail at once instead of waiting out retry delays.
    """
    import yaml

    from hubspot_sync.config import DEFAULT_CONFIG_PATH

    def write(overrides: dict) -> Path:
        config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
        _merge(config, overrides)
        path = tmp_path / f"sync-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("HUBSPOT_SYNC_CONFIG", str(path))
        return path

    return write


def _merge(base: dict, overrides: dict) -> None:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


class _CapturingHandler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append({"path": self.path, "body": body.decode(), "headers": dict(self.headers)})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """A local HTTP server wired as the alert connection; returns the requests it receives."""
    _CapturingHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CapturingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_SYNC_ALERTS", json.dumps({"conn_type": "http", "host": host, "port": port})
    )
    yield _CapturingHandler.requests
    server.shutdown()
    server.server_close()
