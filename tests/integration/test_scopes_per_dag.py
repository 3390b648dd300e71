"""Least privilege: each DAG runs end to end with a token holding exactly the scopes the README lists for it.

The sandbox answers any call outside a token's scopes with HubSpot's 403 MISSING_SCOPES, which fails the task
at once; so a DAG that succeeds here needs no scope beyond its row of the README's table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from hubspot_sandbox.testing import run_sandbox
from tests.dags import test_reverse_etl_dag as reverse_etl_dag
from tests.integration.writeback_support import execute, run_dag_state

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
OBJECTS = ("contacts", "companies", "deals")
READ = [f"crm.objects.{o}.read" for o in OBJECTS] + [f"crm.schemas.{o}.read" for o in OBJECTS]
WRITE = [f"crm.objects.{o}.write" for o in OBJECTS]
TWO_WAY = ("contacts", "deals")  # the shipped two-way objects
# What each DAG needs for the shipped configuration, as its README row states it.
SCOPES = {
    "hubspot_extract": READ,
    "hubspot_reverse_etl": [*WRITE, *(f"crm.schemas.{o}.read" for o in OBJECTS)],
    "hubspot_writeback": [
        *(f"crm.objects.{o}.{access}" for o in TWO_WAY for access in ("read", "write")),
        *(f"crm.schemas.{o}.{access}" for o in TWO_WAY for access in ("read", "write")),
    ],
    "hubspot_reconcile": [*READ, "crm.objects.contacts.write"],
}

demo = reverse_etl_dag.demo


@pytest.fixture(scope="module")
def _sandbox_server():
    """The tests' sandbox, with one token per DAG holding only that DAG's scopes."""
    tokens = {f"token-{dag_id}": scopes for dag_id, scopes in SCOPES.items()}
    with run_sandbox(search_lag_ms=0, scoped_tokens=tokens) as handle:
        yield handle


def use_token_of(dag_id: str, hubspot, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps({"conn_type": "http", "host": hubspot.url, "password": f"token-{dag_id}"}),
    )


def readme_row(dag_id: str) -> str:
    rows = [line for line in README.read_text().splitlines() if line.startswith(f"| `{dag_id}` |")]
    assert len(rows) == 2, f"{dag_id}: a row in the DAG table and one in the scope table"
    return rows[1]


@pytest.mark.parametrize("dag_id", list(SCOPES))
def test_the_readme_names_each_scope_a_dag_needs(dag_id):
    row = readme_row(dag_id)
    for scope in SCOPES[dag_id]:
        generic = [
            re.sub(r"\.(contacts|companies|deals)\.", f".{any_type}.", scope) for any_type in ("*", "<type>")
        ]
        named = any(f"`{name}`" in row for name in [scope, *generic])
        assert named, f"{dag_id} needs {scope}, which its README row does not name: {row}"


def test_each_dag_runs_with_only_its_scopes(airflow_db, demo, warehouse, monkeypatch, sync_config):
    sync_config({"dag_defaults": {"retries": 0}})
    denied = demo.stats
    use_token_of("hubspot_extract", demo, monkeypatch)
    assert run_dag_state("hubspot_extract") == "success"

    use_token_of("hubspot_reverse_etl", demo, monkeypatch)
    assert run_dag_state("hubspot_reverse_etl") == "success"

    contact = execute(warehouse, "SELECT min(id) FROM hubspot.contacts WHERE NOT archived")[0][0]
    execute(warehouse, "UPDATE hubspot.contacts SET jobtitle = 'Scoped' WHERE id = %s", (contact,))
    execute(warehouse, "INSERT INTO hubspot.deals (dealname, dealstage) VALUES ('Scoped', 'qualifiedtobuy')")
    use_token_of("hubspot_writeback", demo, monkeypatch)
    assert run_dag_state("hubspot_writeback") == "success"

    with psycopg.connect(warehouse) as conn:
        email = conn.execute(
            "SELECT properties ->> 'email' FROM hubspot.contacts WHERE NOT archived AND id <> %s "
            "AND properties ? 'email' ORDER BY id LIMIT 1",
            (contact,),
        ).fetchone()[0]
        conn.execute("INSERT INTO hubspot_sync.erasure_requests (email) VALUES (%s)", (email,))
    use_token_of("hubspot_reconcile", demo, monkeypatch)
    assert run_dag_state("hubspot_reconcile") == "success"

    assert denied()["byStatus"].get("403", 0) == 0
    assert execute(warehouse, "SELECT status FROM hubspot_sync.erasure_requests") == [("done",)]
