"""The warehouse connection: missing or unreachable connections are explained, never a bare traceback."""

import json

import psycopg
import pytest

from hubspot_sync.hooks.warehouse import WarehouseConnectionError, WarehouseHook, describe_error

pytestmark = pytest.mark.integration


def test_connects_through_postgres_default(warehouse):
    with WarehouseHook().connect() as conn:
        assert (
            conn.execute("SELECT current_database()").fetchone()[0]
            == warehouse.rsplit("dbname=", 1)[-1].split()[0]
        )


def test_missing_connection_says_how_to_define_it(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_POSTGRES_DEFAULT", raising=False)
    with pytest.raises(
        WarehouseConnectionError, match=r"'postgres_default' is not defined.*AIRFLOW_CONN_POSTGRES_DEFAULT"
    ):
        WarehouseHook().connect()


def test_unreachable_connection_names_it_without_the_password(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTGRES_DEFAULT",
        json.dumps(
            {"conn_type": "postgres", "host": "127.0.0.1", "port": 1, "login": "u", "password": "s3cret-pw"}
        ),
    )
    with pytest.raises(WarehouseConnectionError) as raised:
        WarehouseHook().connect()
    assert "cannot open Airflow connection 'postgres_default'" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)


@pytest.mark.parametrize(
    ("statement", "kept"),
    [
        ("SELECT 'Secret-Value-7'::numeric", "InvalidTextRepresentation (SQLSTATE 22P02)"),
        ("""SELECT '{"a": "Secret-Value-7\\u0000"}'::jsonb""", "UntranslatableCharacter (SQLSTATE 22P05)"),
        (
            "CREATE TEMP TABLE t (k text PRIMARY KEY); "
            "INSERT INTO t VALUES ('Secret-Value-7'), ('Secret-Value-7')",
            "UniqueViolation (SQLSTATE 23505): duplicate key value violates unique constraint",
        ),
    ],
)
def test_described_postgresql_errors_keep_the_kind_but_never_a_value(warehouse, statement, kept):
    with WarehouseHook().connect() as conn, pytest.raises(psycopg.Error) as raised:
        conn.execute(statement)
    diag = raised.value.diag
    assert "Secret-Value-7" in f"{raised.value} {diag.message_detail} {diag.context}"  # psycopg's own text
    described = describe_error(raised.value)
    assert described.startswith(kept)
    assert "Secret-Value-7" not in described
