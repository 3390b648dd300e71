"""Values PostgreSQL holds but HubSpot cannot: each is one row's reject, the model's other rows are pushed."""

from __future__ import annotations

import psycopg
import pytest

from hubspot_sync.reverse_etl.values import OUT_OF_RANGE, canonical, tolerant_datetime_loaders
from tests.integration import test_reverse_etl_push as pushing
from tests.integration.test_reverse_etl_push import PROFILE, contact_values, make_model

pytestmark = pytest.mark.integration

# The push scenarios' fixtures: a migrated warehouse with an `app` schema, the sandbox, a pusher.
db, sandbox, push, models_dir = pushing.db, pushing.sandbox, pushing.push, pushing.models_dir


def test_out_of_range_dates_and_times_load_as_a_marker_not_an_error(pg_url):
    with psycopg.connect(pg_url) as conn, conn.cursor(name="tolerant") as cursor:
        tolerant_datetime_loaders(cursor.adapters)
        cursor.execute(
            "SELECT 'infinity'::timestamptz, '-infinity'::timestamp, '10000-01-01'::date, "
            "'2025-06-01 12:00+02'::timestamptz"
        )
        row = cursor.fetchone()
    assert row[:3] == (OUT_OF_RANGE, OUT_OF_RANGE, OUT_OF_RANGE)
    assert canonical(row[3]) == "2025-06-01T10:00:00.000Z"


def test_unrepresentable_values_are_row_rejects_and_nothing_is_rounded(push, db, sandbox, models_dir):
    db.execute(
        "CREATE TABLE app.profiles (email text, tier text, vip boolean, signup timestamptz, score numeric);"
        "INSERT INTO app.profiles SELECT 'p' || n || '@example.com', 'gold', true, "
        "timestamptz '2025-06-01 00:00:00+00', n FROM generate_series(1, 200) AS n;"
        "INSERT INTO app.profiles VALUES "
        "('infinite@example.com', 'gold', true, 'infinity', 1), "
        "('minus-infinite@example.com', 'gold', true, '-infinity', 1), "
        "('far-future@example.com', 'gold', true, '10000-01-01 00:00+00', 1), "
        "('too-precise@example.com', 'gold', true, '2025-06-01 00:00+00', 1.00000000000000000000000000001), "
        "('too-large@example.com', 'gold', true, '2025-06-01 00:00+00', 1e40), "
        "('not-a-number@example.com', 'gold', true, '2025-06-01 00:00+00', 'NaN'), "
        "('exact@example.com', 'gold', true, '2025-06-01 00:00+00', 0.123456789012345678901234567)"
    )
    db.commit()
    model = make_model(models_dir, "SELECT * FROM app.profiles", **PROFILE)

    summary = push("profiles", model)

    assert summary.records_read == 207
    assert summary.records_rejected == 6
    assert summary.records_written == 201
    assert contact_values(sandbox, "exact@example.com")["usage_score"] == "0.123456789012345678901234567"
    assert contact_values(sandbox, "p200@example.com")["signup_date"] == "2025-06-01"
    contacts = sandbox.sandbox.table("contacts")
    rejects = dict(
        db.execute("SELECT record_id, field || ': ' || reason FROM hubspot_sync.rejects").fetchall()
    )
    assert sorted(rejects) == sorted(
        f"{name}@example.com"
        for name in ("infinite", "minus-infinite", "far-future", "too-precise", "too-large", "not-a-number")
    )
    for email, reason in rejects.items():
        assert contacts.find(email, "email") is None, f"{email} was sent"
        field = "signup_date" if "infinite" in email or "future" in email else "usage_score"
        assert reason.startswith(f"{field}: "), reason
    assert "year outside 1-9999" in rejects["far-future@example.com"]
    assert "28 significant digits" in rejects["too-precise@example.com"]
