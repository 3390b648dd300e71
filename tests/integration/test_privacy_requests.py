"""Erasure requests when HubSpot fails: the request is `failed` with a reason that carries no value, keeps
what it needs to be retried, and the next run finishes it; a contact HubSpot no longer holds is erased
locally all the same."""

from __future__ import annotations

import psycopg
import pytest

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.privacy.engine import ErasureEngine, ErasureRequest

pytestmark = pytest.mark.integration
EMAIL = "fay.failing@example.com"


def run_requests(url: str):
    hook = HubSpotHook()
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            return ErasureEngine(hook, conn).run(ErasureRequest(run_id="test"))
        finally:
            hook.close()


def requests(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT status, email, attempts, error FROM hubspot_sync.erasure_requests ORDER BY request_id"
        ).fetchall()


def test_a_request_hubspot_fails_is_kept_and_retried(hubspot, warehouse):
    with psycopg.connect(warehouse) as conn:
        apply_migrations(conn)
        conn.execute("INSERT INTO hubspot_sync.erasure_requests (email) VALUES (%s)", (EMAIL,))
    with hubspot.http() as http:
        contact = http.post("/crm/v3/objects/contacts", json={"properties": {"email": EMAIL}}).json()["id"]
        hubspot.set_faults({"errorRate": 1.0, "statuses": [503]})
        try:
            report = run_requests(warehouse)
        finally:
            hubspot.clear_faults()
        assert (report.done, report.failed) == (0, 1)
        [(status, email, attempts, error)] = requests(warehouse)
        assert (status, email, attempts) == ("failed", EMAIL, 1)
        assert "HTTP 503" in error
        assert "fay" not in error
        assert http.get(f"/crm/v3/objects/contacts/{contact}").status_code == 200

        report = run_requests(warehouse)
        assert (report.done, report.failed) == (1, 0)
        assert requests(warehouse) == [("done", None, 1, None)]
        assert http.get(f"/crm/v3/objects/contacts/{contact}").status_code == 404


def test_a_contact_hubspot_no_longer_holds_is_erased_locally(hubspot, warehouse):
    with psycopg.connect(warehouse) as conn:
        apply_migrations(conn)
        conn.execute(
            "INSERT INTO hubspot.contacts (id, properties, updated_at) VALUES (424242, %s, now())",
            ('{"email": "gone@example.com"}',),
        )
        conn.execute("INSERT INTO hubspot_sync.erasure_requests (contact_id) VALUES (424242)")
    report = run_requests(warehouse)
    assert (report.done, report.records_erased) == (1, 1)
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("SELECT count(*) FROM hubspot.contacts").fetchone() == (0,)
        assert conn.execute("SELECT record_id, reason FROM hubspot_sync.erasures").fetchall() == [
            (424242, "erasure_request")
        ]
