"""Access to the PostgreSQL warehouse through the Airflow connection `postgres_default`."""

from __future__ import annotations

import psycopg
from airflow.exceptions import AirflowNotFoundException
from airflow.providers.postgres.hooks.postgres import PostgresHook


class WarehouseConnectionError(RuntimeError):
    """The warehouse connection is missing or cannot be opened; the message says how to fix it."""


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
