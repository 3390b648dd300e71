"""A DAG run in its own `airflow dags test` process, killed (SIGKILL) once the warehouse shows progress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import psycopg
import pytest


def kill_when(
    dag_id: str, warehouse: str, ready: Callable[[psycopg.Connection], bool], *, within: float, what: str
):
    """Start `dag_id`, poll `ready(conn)` every 50 ms, and kill the whole process group as soon as it holds;
    fail the test with `what` if it never does within `within` seconds."""
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with psycopg.connect(warehouse) as conn:
                if ready(conn):
                    return
            time.sleep(0.05)
        pytest.fail(what)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None
