"""Guard rails on destructive pushes: mass clearing is refused; upserts do not re-create archived records."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from hubspot_sync.reverse_etl.engine import ClearRefused
from tests.integration import test_reverse_etl_push as pushing
from tests.integration.test_reverse_etl_push import contact_values, make_model, usage_rows

pytestmark = pytest.mark.integration

# The push scenarios' fixtures: a migrated warehouse with an `app` schema, the sandbox, a pusher.
db, sandbox, push, models_dir = pushing.db, pushing.sandbox, pushing.push, pushing.models_dir

SCORE = {"key": {"column": "email", "property": "email"}, "properties": {"score": "usage_score"}}
SCORES = "SELECT email, events_30d AS score FROM app.product_usage"


def scores(sandbox, count: int) -> list[str]:
    return [contact_values(sandbox, f"user{n}@example.com").get("usage_score", "") for n in range(count)]


def test_a_truncated_source_clears_nothing_until_forced(push, db, sandbox, models_dir):
    usage_rows(db, 20)
    model = make_model(models_dir, SCORES, mode="upsert", on_leave="clear", **SCORE)
    push("scores", model)
    db.execute("DELETE FROM app.product_usage WHERE email <> 'user0@example.com'")  # 19 of 20 leave
    db.commit()
    sandbox.reset_stats()

    with pytest.raises(ClearRefused, match=r"19 of the 20 records.*force_clear"):
        push("scores", model)

    assert sandbox.stats()["total"] == 0
    assert scores(sandbox, 20) == ["10"] * 20
    status = db.execute("SELECT status FROM hubspot_sync.run_metrics ORDER BY started_at DESC LIMIT 1")
    assert status.fetchone() == ("failed",)

    summary = push("scores", model, force_clear=True)

    assert summary.details["left_model"] == 19
    assert scores(sandbox, 20) == ["10"] + [""] * 19


def test_a_share_within_the_limit_is_cleared_without_force(push, db, sandbox, models_dir):
    usage_rows(db, 20)
    model = make_model(models_dir, SCORES, mode="upsert", on_leave="clear", **SCORE)
    push("scores", model)
    db.execute("DELETE FROM app.product_usage WHERE email IN ('user1@example.com', 'user2@example.com')")
    db.commit()

    push("scores", model, max_clear_share=0.1)  # 2 of 20 is exactly 10%: allowed

    assert scores(sandbox, 4) == ["10", "", "", "10"]


def archive_in_hubspot_and_mirror(sandbox, conn: psycopg.Connection, email: str) -> int:
    """A contact archived in HubSpot, as extraction mirrors it (archived row, email kept)."""
    with sandbox.http() as http:
        created = http.post("/crm/v3/objects/contacts", json={"properties": {"email": email}}).json()
        http.delete(f"/crm/v3/objects/contacts/{created['id']}").raise_for_status()
    conn.execute(
        "INSERT INTO hubspot.contacts (id, properties, updated_at, archived, archived_at) "
        "VALUES (%s, %s, now(), true, now())",
        (int(created["id"]), Jsonb({"email": email})),
    )
    conn.commit()
    return int(created["id"])


@pytest.mark.parametrize("recreate_archived", [False, True])
def test_upsert_by_email_does_not_recreate_an_archived_contact_unless_allowed(
    push, db, sandbox, models_dir, recreate_archived
):
    usage_rows(db, 50)
    archive_in_hubspot_and_mirror(sandbox, db, "User7@Example.com")
    model = make_model(models_dir, SCORES, mode="upsert", recreate_archived=recreate_archived, **SCORE)

    summary = push("scores", model)

    contacts = sandbox.sandbox.table("contacts")
    assert contact_values(sandbox, "user8@example.com")["usage_score"] == "10"
    rejects = db.execute("SELECT record_id, field, reason FROM hubspot_sync.rejects").fetchall()
    if recreate_archived:
        assert rejects == []
        assert contacts.find("user7@example.com", "email") is not None
        assert summary.records_written == 50
    else:
        assert [(record, field) for record, field, _ in rejects] == [("user7@example.com", "email")]
        assert "archived in HubSpot" in rejects[0][2]
        assert "recreate_archived" in rejects[0][2]
        assert contacts.find("user7@example.com", "email") is None
        assert summary.records_written == 49
