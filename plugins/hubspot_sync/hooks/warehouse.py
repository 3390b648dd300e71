"""Access to the PostgreSQL warehouse through the Airflow connection `postgres_default`."""

from __future__ import annotations

import psycopg
from airflow.exceptions import AirflowNotFoundException
from airflow.providers.postgres.hooks.postgres import PostgresHook


class WarehouseConnectionError(RuntimeError):
    """The warehouse connection is missing or cannot be opened; the message says how to fix it."""


class WarehouseConnectionLost(RuntimeError):
    """An open warehouse connection failed mid-task; the message names the server and the cause."""


class WarehouseStatementFailed(RuntimeError):
    """PostgreSQL refused a statement; the message is `describe_error`'s, free of record values."""


def describe_error(error: psycopg.Error) -> str:
    """A PostgreSQL error for a log or an alert: class, SQLSTATE and, unless it may quote a value
    (data exceptions, class 22), the primary message; never DETAIL or CONTEXT, which quote rows."""
    sqlstate = error.sqlstate or ""
    text = f"{type(error).__name__}" + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    primary = (error.diag.message_primary or "").strip() if sqlstate else ""
    if primary and not sqlstate.startswith("22"):
        text += f": {primary}"
    return text


def address(conn: psycopg.Connection) -> str:
    """host:port of an open connection (a socket directory for local ones), never the password."""
    return f"{conn.info.host}:{conn.info.port}"


class WarehouseHook(PostgresHook):
    """PostgresHook that hands out psycopg 3 connections and explains connection problems.

    Owns nothing but connecting: SQL lives in include/sql and is run by the callers.
    """

    hook_name = "HubSpot sync warehouse (PostgreSQL)"

    def connect(self) -> psycopg.Connection:
        conn_id = self.get_conn_id()
        try:
            conn = self.get_conn()
        except AirflowNotFoundException:
            raise WarehouseConnectionError(
                f"Airflow connection '{conn_id}' is not defined: add it under Admin > Connections "
                f"(type Postgres) or set AIRFLOW_CONN_{conn_id.upper()}="
                "'postgresql://USER:PASSWORD@HOST:5432/DATABASE'"
            ) from None
        except psycopg.OperationalError as error:
            # psycopg's message names host and port, never the password.
            raise WarehouseConnectionError(
                f"cannot open Airflow connection '{conn_id}': {str(error).strip()}; "
                "check its host, port, database and login"
            ) from None
        if not isinstance(conn, psycopg.Connection):
            raise WarehouseConnectionError(
                "the postgres provider returned a psycopg2 connection; install psycopg 3 and SQLAlchemy 2 "
                "(pinned in requirements.txt)"
            )
        return conn
