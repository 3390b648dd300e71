"""The "HubSpot sync" page, served by Airflow's own API server app (plugins loaded from plugins/),
against a seeded warehouse: its JSON equals what the tables hold, its SQL lists the rows behind
each number, and it refuses anonymous requests when Airflow requires a login."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.integration

MODEL = "contact_usage_score"
OPTIONAL = ("outbox", "conflicts", "reconcile_runs", "reconcile_findings")

# (task_id, run_id, try, status, hours ago, read, written, rejected, api calls, 429s)
RUNS = [
    ("extract_contacts", "old", 1, "failed", 240, 1, 1, 0, 9, 9),  # outside every window
    ("extract_contacts", "r1", 1, "success", 3, 100, 90, 2, 10, 1),
    ("extract_contacts", "r2", 1, "failed", 2, 10, 5, 0, 4, 2),
    ("extract_contacts", "r2", 2, "abandoned", 1.5, 0, 0, 0, 1, 0),
    ("extract_contacts", "r3", 1, "success", 0.5, 20, 20, 1, 3, 0),
    ("extract_companies", "r3", 1, "success", 0.5, 7, 7, 0, 2, 0),
    (f"push_{MODEL}", "p1", 1, "success", 1, 4, 3, 1, 2, 0),
]


def seed(url: str) -> None:
    from hubspot_sync.migrations import apply_migrations

    with psycopg.connect(url, autocommit=True) as conn:
        apply_migrations(conn)
        for task_id, run_id, try_number, status, hours, *counts in RUNS:
            conn.execute(
                "INSERT INTO hubspot_sync.run_metrics (dag_id, run_id, task_id, try_number, object_type,"
                " started_at, finished_at, status, records_read, records_written, records_rejected,"
                " api_calls, rate_limited_calls) VALUES (%s, %s, %s, %s, %s, now() - %s * interval '1 hour',"
                " now() - %s * interval '1 hour' + interval '1 minute', %s, %s, %s, %s, %s, %s)",
                (
                    "hubspot_reverse_etl" if task_id.startswith("push_") else "hubspot_extract",
                    run_id,
                    task_id,
                    try_number,
                    "contacts" if task_id.startswith("push_") else task_id.removeprefix("extract_"),
                    hours,
                    hours,
                    status,
                    *counts,
                ),
            )
        conn.execute(
            "INSERT INTO hubspot.contacts (id, updated_at, archived) "
            "SELECT i, now(), i > 5 FROM generate_series(1, 7) AS i"
        )
        conn.execute(
            "INSERT INTO hubspot.companies (id, updated_at) SELECT i, now() FROM generate_series(1, 3) i"
        )
        conn.execute(
            "INSERT INTO hubspot_sync.cursors (object_type, cursor_ms) VALUES"
            " ('contacts', (extract(epoch FROM now() - interval '20 minutes') * 1000)::bigint),"
            " ('companies', (extract(epoch FROM now() - interval '2 hours') * 1000)::bigint)"
        )
        for record_id, days in enumerate((0.1, 1, 2, 9), start=4):
            conn.execute(
                "INSERT INTO hubspot_sync.rejects (dag_id, run_id, task_id, object_type, record_id, field,"
                " reason, rejected_at, last_seen_at) VALUES ('hubspot_extract', 'r1', 'extract_contacts',"
                " 'contacts', %s, 'email', 'not an email address', now() - %s * interval '1 day',"
                " now() - %s * interval '1 day')",
                (str(record_id), days, days),
            )
        conn.execute(
            "INSERT INTO hubspot_sync.push_state (model, record_key, object_type, failed_attempts) VALUES"
            " (%(m)s, 'a@example.org', 'contacts', 0), (%(m)s, 'b@example.org', 'contacts', 0),"
            " (%(m)s, 'c@example.org', 'contacts', 2), ('other', 'd@example.org', 'contacts', 1)",
            {"m": MODEL},
        )
        present = {
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'hubspot_sync'"
            )
        }
        if not set(OPTIONAL) <= present:
            return
        conn.execute(
            "INSERT INTO hubspot_sync.outbox (object_type, record_id, field, operation, changed_at,"
            " changed_by, status) VALUES ('contacts', 1, 'jobtitle', 'update', now(), 'u', 'pending'),"
            " ('contacts', 2, 'jobtitle', 'update', now(), 'u', 'pending'),"
            " ('contacts', 3, 'jobtitle', 'update', now(), 'u', 'failed'),"
            " ('contacts', 4, 'jobtitle', 'update', now(), 'u', 'synced')"
        )
        conn.execute(
            "INSERT INTO hubspot_sync.conflicts (object_type, record_id, field, postgres_changed_at, winner,"
            " rule) VALUES ('contacts', 1, 'jobtitle', now(), 'hubspot', 'hubspot_wins')"
        )
        conn.execute(
            "INSERT INTO hubspot_sync.reconcile_runs (run_id, object_type, dag_id, task_id, status, mode,"
            " compared_values, started_at, finished_at, drift_share) VALUES"
            " ('c1', 'contacts', 'hubspot_reconcile', 'reconcile_contacts', 'success', 'report', true,"
            "  now() - interval '2 days', now() - interval '2 days', 0.5),"
            " ('c2', 'contacts', 'hubspot_reconcile', 'reconcile_contacts', 'success', 'report', true,"
            "  now() - interval '1 hour', now() - interval '1 hour', 0.002)"
        )
        conn.execute(
            "INSERT INTO hubspot_sync.reconcile_findings (run_id, object_type, record_id, kind) VALUES"
            " ('c1', 'contacts', 1, 'missing'), ('c2', 'contacts', 2, 'missing'),"
            " ('c2', 'contacts', 3, 'stale')"
        )


@pytest.fixture(scope="module")
def api_app(airflow_db):
    """Airflow's API server app, as `airflow api-server` builds it, with the project's plugins."""
    from airflow.api_fastapi.app import create_app

    return create_app()


@pytest.fixture
def client(api_app, warehouse):
    from fastapi.testclient import TestClient

    return TestClient(api_app)


@pytest.fixture
def token():
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))


def get(client, token, path, **params):
    response = client.get(
        f"/hubspot-sync{path}", params=params or None, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("path", ["/", "/api/summary", "/sql/mirror_live?table=contacts"])
def test_anonymous_requests_are_refused(client, token, path):
    assert client.get(f"/hubspot-sync{path}").status_code == 401
    bad = client.get(f"/hubspot-sync{path}", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code in (401, 403)


def test_the_page_is_linked_from_the_ui_menu(client, token):
    plugins = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}).json()["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "hubspot_sync_dashboard"]
    assert plugin["external_views"][0]["href"] == "/hubspot-sync/"
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/hubspot-sync"


def test_an_empty_warehouse_says_to_run_the_extraction(client, token):
    assert get(client, token, "/api/summary").json()["migrated"] is False
    assert "run the <code>hubspot_extract</code> DAG once" in get(client, token, "/").text


@pytest.mark.parametrize(
    "optional_tables", [True, False], ids=["all-tables", "without-two-way-and-reconcile"]
)
def test_summary_matches_the_tables(client, token, warehouse, optional_tables):
    seed(warehouse)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        has_optional = conn.execute("SELECT to_regclass('hubspot_sync.outbox') IS NOT NULL").fetchone()[0]
        if optional_tables and not has_optional:
            pytest.skip("this checkout has no write-back and reconciliation migrations")
        if not optional_tables:
            for table in OPTIONAL:
                conn.execute(f"DROP TABLE IF EXISTS hubspot_sync.{table} CASCADE")

    data = get(client, token, "/api/summary").json()
    objects = {entry["object_type"]: entry for entry in data["objects"]}
    assert set(objects) == {"companies", "contacts", "deals"}
    contacts, companies, deals = objects["contacts"], objects["companies"], objects["deals"]

    def values(entry, *keys):
        return tuple(entry[key]["value"] for key in keys)

    keys = (
        "live_records",
        "archived_records",
        "failed_tries_7d",
        "rejects_7d",
        "api_calls_24h",
        "rate_limited_24h",
    )
    # r2's failed and abandoned tries count, the 10-day-old one does not; calls of the last 24 h only.
    assert values(contacts, *keys) == (5, 2, 2, 3, 18, 3)
    assert values(companies, *keys) == (3, 0, 0, 0, 2, 0)
    assert values(deals, *keys) == (0, 0, 0, 0, 0, 0)
    assert (contacts["health"], companies["health"], deals["health"]) == ("healthy", "stale", "never run")
    assert 1195 <= contacts["freshness_lag_seconds"] <= 1300
    assert [run["records_read"] for run in contacts["runs"]] == [1, 100, 10, 0, 20]
    assert [run["records_rejected"] for run in contacts["runs"]] == [0, 2, 0, 0, 1]
    assert data["api"]["calls_24h"]["value"] == 10 + 4 + 1 + 3 + 2 + 2
    assert data["api"]["rate_limited_24h"]["value"] == 3
    assert data["api"]["daily_limit"] == 250_000
    assert data["failures_7d"]["value"] == 2
    assert [(f["task_id"], f["status"]) for f in data["recent_failures"]] == [
        ("extract_contacts", "abandoned"),
        ("extract_contacts", "failed"),
    ]
    models = {model["model"]: model for model in data["models"]}
    assert values(models[MODEL], "records", "failing", "rejects_7d", "failed_tries_7d") == (3, 1, 0, 0)
    assert models[MODEL]["last_status"] == "success"
    assert models["deal_billing_status"]["last_status"] is None
    (push_run,) = data["reverse_etl_runs"]
    assert push_run["run_id"] == "p1"
    assert (push_run["models_succeeded"], push_run["records_accepted"], push_run["records_rejected"]) == (
        1,
        3,
        1,
    )
    assert push_run["link"] == "sql/reverse_etl_run?run_id=p1"

    if optional_tables:
        assert values(contacts, "outbox_pending", "outbox_failed", "conflicts_7d") == (2, 1, 1)
        (reconciled,) = data["reconcile"]
        assert (reconciled["run_id"], reconciled["findings"]["value"]) == ("c2", 2)
    else:
        assert data["reconcile"] is None
        assert not data["writeback_enabled"]
        assert "outbox_pending" not in contacts

    # Every number is what its own SQL lists: the query shown for it is the truth behind it.
    numbers = [value for entry in data["objects"] for value in entry.values() if isinstance(value, dict)]
    numbers += [value for model in data["models"] for value in model.values() if isinstance(value, dict)]
    with psycopg.connect(warehouse) as conn:
        for figure in numbers:
            rows = conn.execute(figure["sql"]).fetchall()
            assert len(rows) == figure["value"] or figure["link"].startswith("sql/task_tries_24h"), figure


def test_each_number_links_to_the_sql_listing_its_rows(client, token, warehouse):
    seed(warehouse)
    page = get(client, token, "/").text
    data = get(client, token, "/api/summary").json()
    rejects = next(entry for entry in data["objects"] if entry["object_type"] == "contacts")["rejects_7d"]
    assert f'href="{rejects["link"].replace("&", "&amp;")}"' in page
    text = get(client, token, f"/{rejects['link']}&format=text").text
    assert "FROM hubspot_sync.rejects" in text
    assert "dag_id = 'hubspot_extract' AND task_id = 'extract_contacts'" in text
    html = get(client, token, f"/{rejects['link']}").text
    assert "The rows behind this number" in html
    assert (
        client.get("/hubspot-sync/sql/pg_shadow", headers={"Authorization": f"Bearer {token}"}).status_code
        == 404
    )
    # Identifiers are quoted, never spliced: a hostile table name stays one quoted identifier.
    hostile = get(client, token, "/sql/mirror_live", table='x" ; DROP TABLE y; --', format="text").text
    assert 'FROM "hubspot"."x"" ; DROP TABLE y; --"' in hostile
