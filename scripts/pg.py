"""The PostgreSQL the tests and the demo use: $HUBSPOT_SYNC_PG_URL, or a private embedded server.

The embedded server comes from the pgserver wheel (PostgreSQL binaries in a Python package), so a
machine with only Python and make needs no root, no system packages and no Docker.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PG_URL_ENV = "HUBSPOT_SYNC_PG_URL"


def check_reachable(url: str) -> None:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as error:
        sys.exit(
            f"{PG_URL_ENV} names a PostgreSQL that cannot be reached: {str(error).strip()}\n"
            f"Fix the URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE) or unset {PG_URL_ENV} "
            "to use a private embedded server."
        )


def start_embedded(data_dir: Path, cleanup_mode: str | None):
    """Start (or reuse) a pgserver instance in `data_dir`; returns the server object (`.get_uri()`)."""
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); pgserver copes without it.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    # pgserver listens on a Unix socket inside data_dir; socket paths are limited to ~100 bytes.
    if len(str(data_dir)) > 80:
        sys.exit(f"embedded PostgreSQL data directory path is too long for a Unix socket: {data_dir}")
    return pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)


def airflow_conn_json(url: str) -> str:
    """An AIRFLOW_CONN_* value (JSON form) for a libpq URL, Unix-socket hosts included."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    conn = {
        "conn_type": "postgres",
        "host": params.get("host", "localhost"),
        "port": int(params.get("port", 5432)),
        "login": params.get("user", os.environ.get("USER", "postgres")),
        "password": params.get("password") or None,
        "schema": params.get("dbname", "postgres"),
    }
    return json.dumps({key: value for key, value in conn.items() if value is not None})


def with_database(url: str, dbname: str) -> str:
    """The same server as `url`, another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)
