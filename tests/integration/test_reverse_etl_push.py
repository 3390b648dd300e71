"""Reverse ETL against the sandbox over HTTP and a real PostgreSQL: end states on both sides.

One module past 400 lines on purpose: every scenario shares the same few fixtures and helpers. The
sandbox writes batches all or nothing, as HubSpot does: a batch refused whole is split until its bad
rows are isolated, and writes whose answer was lost are sent again without making duplicates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest

from hubspot_sync.config import load_config
from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotUnavailableError
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.reverse_etl import engine, model_config
from hubspot_sync.reverse_etl.engine import Settings, push_model
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.reverse_etl.store import ModelError
from hubspot_sync.run_metrics import RunInfo
from tests.connections import use_sandbox

pytestmark = pytest.mark.integration

BATCH_UPSERT = "POST /crm/v3/objects/{objectType}/batch/upsert"
BATCH_UPDATE = "POST /crm/v3/objects/{objectType}/batch/update"
USAGE = load_config().models["contact_usage_score"]


@pytest.fixture
def db(warehouse: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse) as conn:
        apply_migrations(conn)
        conn.autocommit = False
        conn.execute(
            "CREATE SCHEMA app; CREATE TABLE app.product_usage (email text PRIMARY KEY, "
            "events_30d integer NOT NULL, active_days_30d integer NOT NULL, last_seen_at timestamptz)"
        )
        conn.commit()
        yield conn


@pytest.fixture
def sandbox(hubspot, monkeypatch):
    """The sandbox, with a connection whose rate budget is far above what a test sends."""
    use_sandbox(monkeypatch, hubspot, requests_per_10s=100_000)
    return hubspot


class Pusher:
    """Runs one model the way the operator does: a fresh hook per run, budget in the warehouse."""

    def __init__(self, conn: psycopg.Connection, url: str) -> None:
        self.conn, self.url, self.runs = conn, url, 0

    def __call__(self, name: str, model: ReverseEtlModel, **settings):
        self.runs += 1
        with ExitStack() as stack:
            hook = HubSpotHook(budget_conn_factory=lambda: stack.enter_context(psycopg.connect(self.url)))
            run = RunInfo("hubspot_reverse_etl", f"run_{self.runs}", f"push_{name}")
            summary = push_model(self.conn, hook, name, model, run, Settings(**settings))
        return summary


@pytest.fixture
def push(db, warehouse) -> Pusher:
    return Pusher(db, warehouse)


def usage_rows(conn: psycopg.Connection, count: int, *, start: int = 0, events: int = 10) -> None:
    conn.execute(
        "INSERT INTO app.product_usage SELECT 'user' || n || '@example.com', %s::int, n %% 31, "
        "timestamptz '2026-03-01 12:00:00+00' + n * interval '1 minute' "
        "FROM generate_series(%s::int, %s::int) AS n "
        "ON CONFLICT (email) DO UPDATE SET events_30d = EXCLUDED.events_30d",
        (events, start, start + count - 1),
    )
    conn.commit()


def contact_values(hubspot, email: str) -> dict[str, str]:
    record = hubspot.sandbox.table("contacts").find(email, "email")
    assert record is not None, f"no contact {email} in the sandbox"
    return record.props


def expected_score(events: int, n: int) -> str:
    import math

    return str(min(100, round((n % 31) * 2.5 + math.log(1 + events) * 5)))


def batch_calls(hubspot, endpoint: str) -> int:
    return hubspot.stats()["byEndpoint"].get(endpoint, 0)


def test_first_push_no_change_then_250_changes(push, db, sandbox, monkeypatch):
    monkeypatch.setattr(engine, "SLICE_ROWS", 3_000)  # several slices still pack full batches
    usage_rows(db, 10_000)

    first = push("contact_usage_score", USAGE)

    assert batch_calls(sandbox, BATCH_UPSERT) == 100
    assert sandbox.stats()["total"] == 101  # and one read of the property definitions
    assert first.records_written == 10_000
    assert len(sandbox.sandbox.table("contacts").live) == 10_000
    for n in (0, 4_321, 9_999):
        props = contact_values(sandbox, f"user{n}@example.com")
        assert props["usage_score"] == expected_score(10, n)
        assert props["last_login_at"].startswith("2026-03-0")
    audited = db.execute(
        "SELECT count(*), count(DISTINCT record_key) FROM hubspot_sync.push_audit WHERE outcome = 'success'"
    ).fetchone()
    assert audited == (20_000, 10_000)  # two properties per record

    sandbox.reset_stats()
    second = push("contact_usage_score", USAGE)
    assert sandbox.stats()["total"] == 0
    assert second.api_calls == 0
    assert second.details["unchanged"] == 10_000

    db.execute("UPDATE app.product_usage SET events_30d = 400 WHERE email ~ '^user1?[0-9]{1,2}@'")
    db.commit()
    changed = db.execute("SELECT count(*) FROM app.product_usage WHERE events_30d = 400").fetchone()[0]
    assert changed == 200  # user0..99 and user100..199
    db.execute("UPDATE app.product_usage SET events_30d = 400 WHERE email ~ '^user2[0-4][0-9]@'")
    db.commit()
    sandbox.reset_stats()
    third = push("contact_usage_score", USAGE)
    assert batch_calls(sandbox, BATCH_UPSERT) == 3
    assert sandbox.stats()["total"] == 3  # the definitions come from the cache
    assert third.records_written == 250
    assert contact_values(sandbox, "user249@example.com")["usage_score"] == expected_score(400, 249)
    previous = db.execute(
        "SELECT new_value, previous_value FROM hubspot_sync.push_audit "
        "WHERE record_key = 'user249@example.com' AND property = 'usage_score' ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    assert previous == (expected_score(400, 249), expected_score(10, 249))


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private include/sql/reverse_etl for models written by the test."""
    monkeypatch.setattr(model_config, "MODELS_SQL_DIR", tmp_path)
    return tmp_path


def make_model(models_dir: Path, sql: str, **fields) -> ReverseEtlModel:
    (models_dir / "model.sql").write_text(sql)
    return ReverseEtlModel.model_validate({"sql": "model.sql", "object_type": "contacts", **fields})


PROFILE = {
    "key": {"column": "email", "property": "email"},
    "mode": "upsert",
    "properties": {"tier": "customer_tier", "vip": "is_vip", "signup": "signup_date", "score": "usage_score"},
}


def test_invalid_rows_are_rejected_with_reasons_while_neighbours_are_pushed(push, db, sandbox, models_dir):
    db.execute(
        "CREATE TABLE app.profiles (email text, tier text, vip boolean, signup timestamptz, score numeric);"
        "INSERT INTO app.profiles SELECT 'p' || n || '@example.com', 'gold', n % 2 = 0, "
        "timestamptz '2025-06-01 00:00:00+00', n * 1.5 FROM generate_series(1, 100) AS n;"
        "INSERT INTO app.profiles VALUES "
        "('not-an-email', 'gold', true, '2025-06-01 00:00+00', 1), "
        "('bad-tier@example.com', 'diamond', true, '2025-06-01 00:00+00', 1), "
        "('bad-date@example.com', 'gold', true, '2025-06-01 10:30+00', 1)"
    )
    db.commit()
    model = make_model(models_dir, "SELECT * FROM app.profiles", **PROFILE)

    summary = push("profiles", model)

    assert summary.records_read == 103
    assert summary.records_written == 100
    assert summary.records_rejected == 3
    assert contact_values(sandbox, "p7@example.com")["usage_score"] == "10.5"
    assert contact_values(sandbox, "p7@example.com")["signup_date"] == "2025-06-01"
    assert contact_values(sandbox, "p8@example.com")["is_vip"] == "true"
    contacts = sandbox.sandbox.table("contacts")
    assert contacts.find("bad-tier@example.com", "email") is None
    assert contacts.find("bad-date@example.com", "email") is None
    rejects = db.execute(
        "SELECT record_id, field, reason FROM hubspot_sync.rejects ORDER BY field"
    ).fetchall()
    assert [(record, field) for record, field, _ in rejects] == [
        ("bad-tier@example.com", "customer_tier"),
        (None, "email"),
        ("bad-date@example.com", "signup_date"),
    ]
    assert "bronze, gold, platinum, silver" in rejects[0][2]
    assert "not a valid email" in rejects[1][2]
    assert "UTC midnight" in rejects[2][2]
    assert not any("diamond" in reason or "not-an-email" in reason for _, _, reason in rejects)


def test_207_failures_are_recorded_then_retried_and_succeed_next_run(push, db, sandbox, models_dir):
    with sandbox.http() as http:
        for start in (0, 100):
            inputs = [{"properties": {"email": f"user{n}@example.com"}} for n in range(start, start + 75)]
            http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs}).raise_for_status()
    usage_rows(db, 200)  # user0..199: 150 exist in HubSpot, 50 (75..99, 175..199) do not
    model = make_model(
        models_dir,
        "SELECT email, events_30d AS score FROM app.product_usage",
        key={"column": "email", "property": "email"},
        mode="update",
        properties={"score": "usage_score"},
    )

    with pytest.raises(ModelError, match=r"50 of 200 records were refused by HubSpot.*push_state"):
        push("usage_update", model)

    assert batch_calls(sandbox, BATCH_UPDATE) == 2
    assert contact_values(sandbox, "user0@example.com")["usage_score"] == "10"
    failed = db.execute(
        "SELECT record_key, last_error_category, last_correlation_id FROM hubspot_sync.push_state "
        "WHERE failed_attempts = 1 ORDER BY record_key"
    ).fetchall()
    assert len(failed) == 50
    assert {category for _, category, _ in failed} == {"OBJECT_NOT_FOUND"}
    assert all(correlation for _, _, correlation in failed)
    outcomes = dict(
        db.execute("SELECT outcome, count(*) FROM hubspot_sync.push_audit GROUP BY outcome").fetchall()
    )
    assert outcomes == {"success": 150, "failed": 50}

    with sandbox.http() as http:
        inputs = [{"properties": {"email": key}} for key, _, _ in failed]
        http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs}).raise_for_status()
    sandbox.reset_stats()
    retried = push("usage_update", model)

    assert batch_calls(sandbox, BATCH_UPDATE) == 1
    assert retried.records_written == 50
    assert contact_values(sandbox, "user199@example.com")["usage_score"] == "10"
    state = db.execute(
        "SELECT count(*) FILTER (WHERE pushed ->> 'usage_score' = '10'), "
        "count(*) FILTER (WHERE failed_attempts > 0) FROM hubspot_sync.push_state"
    ).fetchone()
    assert state == (200, 0)


def test_value_refused_max_attempts_times_is_held_until_it_changes(push, db, sandbox, models_dir):
    usage_rows(db, 3)
    model = make_model(
        models_dir,
        "SELECT email, events_30d AS score FROM app.product_usage",
        key={"column": "email", "property": "email"},
        mode="update",
        properties={"score": "usage_score"},
        max_attempts=2,
    )
    for _ in range(2):
        with pytest.raises(ModelError):
            push("usage_update", model)
    sandbox.reset_stats()
    held = push("usage_update", model)
    assert held.details["held"] == 3
    assert sandbox.stats()["total"] == 0


def test_budget_keeps_a_push_under_the_enforced_tier(push, db, hubspot, monkeypatch):
    # The sandbox enforces 20 calls per rolling second; the budget (100 per 10 s at 90%) never bursts
    # more than 14 in a second.
    hubspot.set_limits(tier="starter", tiers={"starter": {"burst_max": 20, "burst_window_ms": 1000}})
    use_sandbox(monkeypatch, hubspot)
    usage_rows(db, 3_000)

    summary = push("contact_usage_score", USAGE)

    stats = hubspot.stats()
    assert stats["rateLimited"]["total"] == 0
    assert "429" not in stats["byStatus"]
    assert batch_calls(hubspot, BATCH_UPSERT) == 30
    assert summary.rate_limited_calls == 0
    assert len(hubspot.sandbox.table("contacts").live) == 3_000


def test_dry_run_makes_no_calls_and_previews_exactly_what_the_next_run_sends(push, db, sandbox):
    usage_rows(db, 1_000)
    push("contact_usage_score", USAGE)
    usage_rows(db, 150, events=300)  # user0..149 change their score
    usage_rows(db, 5, start=5_000)  # five new users
    sandbox.reset_stats()

    preview = push("contact_usage_score", USAGE, dry_run=True)

    assert sandbox.stats()["total"] == 0
    assert preview.api_calls == 0
    rows = db.execute(
        "SELECT record_key, property, new_value, previous_value, action FROM hubspot_sync.push_preview"
    ).fetchall()
    by_key = {(key, prop): (new, old, action) for key, prop, new, old, action in rows}
    assert len({key for key, _ in by_key}) == 155
    assert by_key[("user3@example.com", "usage_score")] == (
        expected_score(300, 3),
        expected_score(10, 3),
        "upsert",
    )
    assert ("user3@example.com", "last_login_at") not in by_key  # unchanged property
    assert by_key[("user5000@example.com", "usage_score")][1] is None
    assert db.execute("SELECT count(*) FROM hubspot_sync.push_audit").fetchone()[0] == 2_000
    assert contact_values(sandbox, "user3@example.com")["usage_score"] == expected_score(10, 3)

    real = push("contact_usage_score", USAGE)
    assert batch_calls(sandbox, BATCH_UPSERT) == 2
    sent = {
        (key, prop, new)
        for key, prop, new in db.execute(
            "SELECT record_key, property, new_value FROM hubspot_sync.push_audit WHERE run_id = %s",
            (f"run_{push.runs}",),
        )
    }
    assert sent == {(key, prop, new) for (key, prop), (new, _, _) in by_key.items()}
    assert real.records_written == 155


def test_crash_mid_run_then_rerun_loses_nothing_and_resends_nothing_accepted(push, db, sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {
                "conn_type": "http",
                "host": sandbox.url,
                "password": sandbox.token,
                "extra": {"requests_per_10s": 100_000, "max_attempts": 2},
            }
        ),
    )
    usage_rows(db, 1_000)
    sandbox.set_faults({"script": [{"endpoint": BATCH_UPSERT, "calls": [4, 5], "fault": 503}]})

    with pytest.raises(HubSpotUnavailableError, match=r"HTTP 503"):
        push("contact_usage_score", USAGE)
    assert len(sandbox.sandbox.table("contacts").live) == 300
    sandbox.clear_faults()
    sandbox.reset_stats()

    push("contact_usage_score", USAGE)

    assert batch_calls(sandbox, BATCH_UPSERT) == 7
    assert len(sandbox.sandbox.table("contacts").live) == 1_000
    sends = db.execute(
        "SELECT max(n), count(*) FROM (SELECT count(*) AS n FROM hubspot_sync.push_audit "
        "WHERE property = 'usage_score' AND outcome = 'success' GROUP BY record_key) AS per_key"
    ).fetchone()
    assert sends == (1, 1_000)
    statuses = db.execute("SELECT run_id, status FROM hubspot_sync.run_metrics ORDER BY run_id").fetchall()
    assert statuses == [("run_1", "failed"), ("run_2", "success")]


@pytest.mark.parametrize(
    ("sql", "fields", "expected"),
    [
        ("SELECT email, nope FROM app.product_usage", {}, r"model.sql\): the query failed in PostgreSQL"),
        (
            "SELECT events_30d AS score FROM app.product_usage",
            {},
            r"model.sql\): the query returns no column email; it returns score",
        ),
        (
            "SELECT upper(email) AS email, 1 AS score FROM app.product_usage UNION ALL "
            "SELECT email, 2 FROM app.product_usage",
            {},
            r"5 rows repeat a key already returned in column email",
        ),
        (
            "SELECT email, 1 AS score FROM app.product_usage",
            {"properties": {"score": "no_such_property"}},
            r"column score maps to property no_such_property, which does not exist",
        ),
        (
            "SELECT email, 1 AS score FROM app.product_usage",
            {"properties": {"score": "hs_object_id"}},
            r"column score maps to property hs_object_id, which is read-only",
        ),
    ],
    ids=["sql_error", "missing_column", "duplicate_keys", "unknown_property", "read_only_property"],
)
def test_broken_model_fails_naming_model_file_and_column(
    push, db, sandbox, models_dir, sql, fields, expected
):
    usage_rows(db, 5)
    spec = {
        "key": {"column": "email", "property": "email"},
        "mode": "upsert",
        "properties": {"score": "usage_score"},
        **fields,
    }
    model = make_model(models_dir, sql, **spec)

    with pytest.raises(ModelError, match=r"model broken \(.*" + expected):
        push("broken", model)

    assert len(sandbox.sandbox.table("contacts").live) == 0
    status = db.execute(
        "SELECT status FROM hubspot_sync.run_metrics WHERE task_id = 'push_broken'"
    ).fetchone()
    assert status == ("failed",)


def test_rows_leaving_a_clearing_model_are_cleared_and_others_left_alone(push, db, sandbox, models_dir):
    usage_rows(db, 10)  # two of ten leave: within the default max_clear_share of 20%
    spec = {"key": {"column": "email", "property": "email"}, "properties": {"score": "usage_score"}}
    keep = make_model(
        models_dir, "SELECT email, events_30d AS score FROM app.product_usage", mode="upsert", **spec
    )
    clear = keep.model_copy(update={"on_leave": "clear"})
    push("keeps", keep)
    push("clears", clear)
    db.execute("DELETE FROM app.product_usage WHERE email IN ('user0@example.com', 'user1@example.com')")
    db.commit()

    push("keeps", keep)
    assert contact_values(sandbox, "user0@example.com")["usage_score"] == "10"
    summary = push("clears", clear)

    assert summary.details["left_model"] == 2
    # HubSpot (and the sandbox) drop a cleared property from the record.
    assert contact_values(sandbox, "user0@example.com").get("usage_score", "") == ""
    assert contact_values(sandbox, "user1@example.com").get("usage_score", "") == ""
    assert contact_values(sandbox, "user2@example.com")["usage_score"] == "10"
    sandbox.reset_stats()
    push("clears", clear)
    assert sandbox.stats()["total"] == 0


TIER = {"key": {"column": "email", "property": "email"}, "properties": {"tier": "customer_tier"}}


def set_tier_options(sandbox, options: list[str]) -> None:
    body = {"options": [{"label": option, "value": option} for option in options]}
    with sandbox.http() as http:
        http.patch("/crm/v3/properties/contacts/customer_tier", json=body).raise_for_status()


def test_stale_cached_definitions_are_corrected_by_hubspot_and_by_refusals(push, db, sandbox, models_dir):
    db.execute(
        "CREATE TABLE app.tiers (email text, tier text);"
        "INSERT INTO app.tiers SELECT 't' || n || '@example.com', 'gold' FROM generate_series(1, 40) AS n"
    )
    db.commit()
    model = make_model(models_dir, "SELECT email, tier FROM app.tiers", mode="upsert", **TIER)
    push("tiers", model, max_reject_share=1.0)  # caches the definitions

    # An option added in HubSpot: the cached copy refuses it, so the definitions are read again.
    set_tier_options(sandbox, ["bronze", "silver", "gold", "platinum", "diamond"])
    db.execute("UPDATE app.tiers SET tier = 'diamond' WHERE email = 't1@example.com'")
    db.commit()
    added = push("tiers", model, max_reject_share=1.0)
    assert added.records_rejected == 0
    assert contact_values(sandbox, "t1@example.com")["customer_tier"] == "diamond"

    # An option removed in HubSpot: the cached copy still allows it, HubSpot refuses the batch whole, the
    # refused input is isolated and the other input is sent again and accepted; the refusal drops the cache.
    set_tier_options(sandbox, ["bronze", "silver", "gold"])
    db.execute(
        "UPDATE app.tiers SET tier = CASE email WHEN 't2@example.com' THEN 'platinum' ELSE 'silver' END"
    )
    db.commit()
    refused = push("tiers", model, max_reject_share=1.0)
    assert refused.details["failed"] == 1
    assert contact_values(sandbox, "t3@example.com")["customer_tier"] == "silver"
    state = db.execute(
        "SELECT last_error_category, last_error FROM hubspot_sync.push_state "
        "WHERE record_key = 't2@example.com'"
    ).fetchone()
    assert state == ("VALIDATION_ERROR", "customer_tier: INVALID_OPTION")

    sandbox.reset_stats()
    retried = push("tiers", model, max_reject_share=1.0)
    assert retried.records_rejected == 1  # checked against live definitions, not sent again
    assert sandbox.stats()["byEndpoint"] == {"GET /crm/v3/properties/{objectType}": 1}


def tier_table(db, rows: int) -> None:
    db.execute("CREATE TABLE app.tiers (n integer, email text, tier text)")
    db.execute(
        "INSERT INTO app.tiers SELECT n, 't' || n || '@example.com', 'gold' FROM generate_series(0, %s) AS n",
        (rows - 1,),
    )
    db.commit()


@pytest.mark.parametrize(
    "name_inputs", [True, False], ids=["refusal_names_inputs", "refusal_names_properties"]
)
@pytest.mark.parametrize("bad", [[37], [0, 1, 50, 99]], ids=["one_bad_row", "four_bad_rows"])
def test_a_refused_batch_is_split_until_its_bad_rows_are_isolated(
    push, db, sandbox, models_dir, name_inputs, bad
):
    tier_table(db, 100)
    model = make_model(models_dir, "SELECT email, tier FROM app.tiers", mode="upsert", **TIER)
    push("tiers", model)  # caches the definitions: platinum is an option
    # HubSpot drops the option; the cached copy still allows it, so the rows reach HubSpot and one batch
    # of 100 is refused whole. Portals differ in whether the 400 names the inputs or only the property.
    set_tier_options(sandbox, ["bronze", "silver", "gold"])
    sandbox.set_config(batchErrorsNameInputs=name_inputs)
    db.execute("UPDATE app.tiers SET tier = CASE WHEN n = ANY(%s) THEN 'platinum' ELSE 'silver' END", (bad,))
    db.commit()
    sandbox.reset_stats()

    summary = push("tiers", model, max_reject_share=1.0)

    tiers = {n: contact_values(sandbox, f"t{n}@example.com")["customer_tier"] for n in range(100)}
    assert tiers == {n: "gold" if n in bad else "silver" for n in range(100)}
    failed = db.execute(
        "SELECT record_key, last_error_category, last_error, last_correlation_id "
        "FROM hubspot_sync.push_state WHERE failed_attempts > 0 ORDER BY record_key"
    ).fetchall()
    assert [key for key, _, _, _ in failed] == sorted(f"t{n}@example.com" for n in bad)
    assert {(category, reason) for _, category, reason, _ in failed} == {
        ("VALIDATION_ERROR", "customer_tier: INVALID_OPTION")
    }
    assert all(correlation for _, _, _, correlation in failed)
    calls = batch_calls(sandbox, BATCH_UPSERT)
    assert summary.details["failed"] == len(bad)
    assert summary.records_written == 100 - len(bad)
    assert summary.details["isolation_calls"] == calls - 1
    if name_inputs:
        assert calls == 2  # the refusal, then the rest without the named rows
    else:
        assert 2 < calls <= 1 + 2 * len(bad) * math.ceil(math.log2(100))
    audited = db.execute(
        "SELECT outcome, count(*) FROM hubspot_sync.push_audit WHERE run_id = %s GROUP BY outcome",
        (f"run_{push.runs}",),
    ).fetchall()
    assert dict(audited) == {"success": 100 - len(bad), "failed": len(bad)}
    view = db.execute(
        "SELECT isolation_calls, records_refused_by_hubspot FROM hubspot_sync.reverse_etl_runs "
        "WHERE run_id = %s",
        (f"run_{push.runs}",),
    ).fetchone()
    assert view == (calls - 1, len(bad))

    sandbox.reset_stats()
    again = push("tiers", model, max_reject_share=1.0)
    assert again.records_rejected == len(bad)  # the live definitions now refuse them before sending
    assert batch_calls(sandbox, BATCH_UPSERT) == 0


@pytest.mark.parametrize("fault", ["drop", 502])
def test_writes_applied_whose_answer_was_lost_converge_without_duplicates(
    push, db, sandbox, monkeypatch, fault
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {
                "conn_type": "http",
                "host": sandbox.url,
                "password": sandbox.token,
                "extra": {"requests_per_10s": 100_000, "backoff_base_seconds": 0.02},
            }
        ),
    )
    usage_rows(db, 500)
    # HubSpot applies the 1st, 3rd and 4th upsert (the 4th is the retry of the 3rd) and the answer is lost.
    script = [{"endpoint": BATCH_UPSERT, "calls": [1, 3, 4], "fault": fault, "afterApply": True}]
    sandbox.set_faults({"script": script})

    summary = push("contact_usage_score", USAGE)

    assert sandbox.stats()["faultsInjected"] == {f"{fault} after apply": 3}
    assert batch_calls(sandbox, BATCH_UPSERT) == 8  # five batches, three of them sent again
    contacts = sandbox.sandbox.table("contacts").live.values()
    emails = [record.props["email"] for record in contacts]
    assert len(emails) == len(set(emails)) == 500
    assert summary.records_written == 500
    state = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE failed_attempts > 0) FROM hubspot_sync.push_state"
    ).fetchone()
    assert state == (500, 0)

    sandbox.clear_faults()
    sandbox.reset_stats()
    again = push("contact_usage_score", USAGE)
    assert sandbox.stats()["total"] == 0
    assert again.details["unchanged"] == 500


def test_a_conflict_409_is_isolated_like_a_400(push, db, sandbox, models_dir):
    # A write that would give a contact another contact's email is refused whole with a 409 naming the
    # existing record, not the input: the batch is bisected down to the row.
    with sandbox.http() as http:
        inputs = [{"properties": {"email": f"c{n}@example.com"}} for n in range(10)]
        created = http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs}).json()
    ids = {record["properties"]["email"]: record["id"] for record in created["results"]}
    db.execute("CREATE TABLE app.emails (id text, email text, tier text)")
    rows = [(ids[f"c{n}@example.com"], f"c{7 if n == 3 else n}@example.com", "silver") for n in range(10)]
    db.cursor().executemany("INSERT INTO app.emails VALUES (%s, %s, %s)", rows)
    db.commit()
    model = make_model(
        models_dir,
        "SELECT id, email, tier FROM app.emails",
        key={"column": "id", "property": "id"},
        mode="update",
        properties={"email": "email", "tier": "customer_tier"},
    )

    summary = push("emails", model, max_reject_share=1.0)

    tiers = {n: contact_values(sandbox, f"c{n}@example.com").get("customer_tier") for n in range(10)}
    assert tiers == {n: None if n == 3 else "silver" for n in range(10)}
    failed = db.execute(
        "SELECT record_key, last_error_category, last_error FROM hubspot_sync.push_state "
        "WHERE failed_attempts > 0"
    ).fetchall()
    assert failed == [
        (
            ids["c3@example.com"],
            "CONFLICT",
            f"CONFLICT: Contact already exists. Existing ID: {ids['c7@example.com']}",
        )
    ]
    assert summary.details["isolation_calls"] == batch_calls(sandbox, BATCH_UPDATE) - 1 > 1
