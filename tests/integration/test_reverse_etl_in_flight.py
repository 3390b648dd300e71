"""Reverse ETL with batch calls in flight at once, against the sandbox over HTTP and a real PostgreSQL.

A push with four calls in flight must end exactly as one sending a batch at a time: the same values in
HubSpot, the same push state and audit rows, the same isolation of refused rows at the same cost in calls.
Overlap is read from the sandbox's side: each API request's start and end, taken inside the sandbox.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest

from hubspot_sync.config import load_config
from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotUnavailableError
from hubspot_sync.reverse_etl import model_config
from hubspot_sync.reverse_etl.engine import Settings, push_model
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.run_metrics import RunInfo
from tests.connections import GENEROUS, use_sandbox
from tests.integration import test_reverse_etl_push as push
from tests.integration.server_log import ServerLog

pytestmark = pytest.mark.integration
db = push.db  # the warehouse with app.product_usage, as the push tests have it

BATCH_UPSERT = "POST /crm/v3/objects/{objectType}/batch/upsert"
USAGE = load_config().models["contact_usage_score"]
IN_FLIGHT = 4


def connect(monkeypatch: pytest.MonkeyPatch, sandbox, **extra) -> None:
    use_sandbox(monkeypatch, sandbox, **GENEROUS, **extra)


@pytest.fixture
def sandbox(hubspot, monkeypatch):
    connect(monkeypatch, hubspot)
    return hubspot


@pytest.fixture
def server_log(sandbox, monkeypatch) -> ServerLog:
    return ServerLog(sandbox, monkeypatch)


class Pusher:
    """Runs one model the way the operator does: a fresh hook per run, budget in the warehouse."""

    def __init__(self, conn: psycopg.Connection, url: str) -> None:
        self.conn, self.url, self.runs = conn, url, 0

    def __call__(self, name: str, model: ReverseEtlModel, **settings):
        self.runs += 1
        with ExitStack() as stack:
            hook = HubSpotHook(budget_conn_factory=lambda: stack.enter_context(psycopg.connect(self.url)))
            run = RunInfo("hubspot_reverse_etl", f"run_{self.runs}", f"push_{name}")
            return push_model(self.conn, hook, name, model, run, Settings(**settings))


@pytest.fixture
def push(db, warehouse) -> Pusher:
    return Pusher(db, warehouse)


def usage_rows(conn: psycopg.Connection, count: int, *, events: int = 10) -> None:
    conn.execute(
        "INSERT INTO app.product_usage SELECT 'user' || n || '@example.com', %s::int, n %% 31, "
        "timestamptz '2026-03-01 12:00:00+00' + n * interval '1 minute' "
        "FROM generate_series(0, %s::int) AS n "
        "ON CONFLICT (email) DO UPDATE SET events_30d = EXCLUDED.events_30d",
        (events, count - 1),
    )
    conn.commit()


def upsert_calls(sandbox) -> int:
    return sandbox.stats()["byEndpoint"].get(BATCH_UPSERT, 0)


def end_state(db: psycopg.Connection, sandbox, properties: list[str]) -> dict:
    """Both sides of a push, with nothing that depends on timing (ids, times, run ids)."""
    contacts = {
        record.props["email"]: {prop: record.props.get(prop) for prop in properties}
        for record in sandbox.sandbox.table("contacts").live.values()
    }
    state = db.execute(
        "SELECT record_key, pushed, failed_values, failed_attempts, last_error_category, last_error "
        "FROM hubspot_sync.push_state ORDER BY record_key"
    ).fetchall()
    audit = db.execute(
        "SELECT record_key, property, new_value, previous_value, operation, outcome, error_category, "
        "count(*) FROM hubspot_sync.push_audit GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7"
    ).fetchall()
    db.commit()
    return {"contacts": contacts, "push_state": state, "audit": audit}


def forget_pushes(db: psycopg.Connection, sandbox) -> None:
    sandbox.reset()
    sandbox.set_limits(tier="off")
    db.execute("TRUNCATE hubspot_sync.push_state, hubspot_sync.push_audit")
    db.commit()


def test_four_calls_in_flight_end_exactly_as_one_and_overlap_in_the_sandbox(push, db, sandbox, server_log):
    usage_rows(db, 2_000)  # 20 batches per push
    properties = list(USAGE.properties.values())
    latency = {"latencyMs": 60, "endpoints": [BATCH_UPSERT]}
    ends, summaries, most_at_once = {}, {}, {}
    for in_flight in (1, IN_FLIGHT):
        forget_pushes(db, sandbox)
        usage_rows(db, 2_000, events=10)
        sandbox.set_faults(latency)
        server_log.clear()
        created = push("contact_usage_score", USAGE, requests_in_flight=in_flight)
        usage_rows(db, 2_000, events=20)  # every row changes: the upserts now update the contacts
        changed = push("contact_usage_score", USAGE, requests_in_flight=in_flight)
        ends[in_flight] = end_state(db, sandbox, properties)
        most_at_once[in_flight] = server_log.most_at_once(BATCH_UPSERT)
        summaries[in_flight] = [
            (s.records_written, s.details["batch_calls"], s.details["isolation_calls"], s.details["changed"])
            for s in (created, changed)
        ]

    assert summaries[1] == summaries[IN_FLIGHT] == [(2_000, 20, 0, 2_000)] * 2
    assert len(ends[1]["contacts"]) == 2_000
    assert ends[1] == ends[IN_FLIGHT]
    assert ends[IN_FLIGHT]["contacts"]["user7@example.com"]["usage_score"] == str(
        min(100, round(7 * 2.5 + math.log(21) * 5))
    )
    assert most_at_once[1] == 1
    assert 2 <= most_at_once[IN_FLIGHT] <= IN_FLIGHT


def test_a_batch_failing_for_good_stops_the_push_and_the_rerun_sends_only_what_is_left(
    push, db, sandbox, server_log, monkeypatch
):
    connect(monkeypatch, sandbox, max_attempts=1)  # a 503 fails its batch for good
    usage_rows(db, 3_000)  # 30 batches
    # The 6th upsert to arrive fails at once; the others take long enough to be in flight beside it.
    sandbox.set_faults(
        {
            "latencyMs": 80,
            "endpoints": [BATCH_UPSERT],
            "script": [{"endpoint": BATCH_UPSERT, "call": 6, "fault": 503}],
        }
    )

    with pytest.raises(HubSpotUnavailableError, match=r"HTTP 503"):
        push("contact_usage_score", USAGE, requests_in_flight=IN_FLIGHT)

    answered = upsert_calls(sandbox) - 1
    assert 5 <= answered < 29  # it stopped submitting, and what was in flight beside the failure ended
    accepted = {record.props["email"] for record in sandbox.sandbox.table("contacts").live.values()}
    recorded = {
        key
        for (key,) in db.execute(
            "SELECT record_key FROM hubspot_sync.push_state WHERE pushed ? 'usage_score'"
        ).fetchall()
    }
    audited = db.execute(
        "SELECT count(DISTINCT record_key) FROM hubspot_sync.push_audit WHERE outcome = 'success'"
    ).fetchone()[0]
    db.commit()
    assert len(accepted) == 100 * answered
    assert recorded == accepted  # every batch HubSpot answered is recorded, and only those
    assert audited == len(accepted)
    assert db.execute("SELECT status FROM hubspot_sync.run_metrics").fetchall() == [("failed",)]
    db.commit()

    sandbox.clear_faults()
    sandbox.reset_stats()
    rerun = push("contact_usage_score", USAGE, requests_in_flight=IN_FLIGHT)

    assert upsert_calls(sandbox) == math.ceil((3_000 - len(accepted)) / 100)
    assert rerun.records_written == 3_000 - len(accepted)
    assert len(sandbox.sandbox.table("contacts").live) == 3_000
    sends = db.execute(
        "SELECT max(n), count(*) FROM (SELECT count(*) AS n FROM hubspot_sync.push_audit "
        "WHERE property = 'usage_score' AND outcome = 'success' GROUP BY record_key) AS per_key"
    ).fetchone()
    assert sends == (1, 3_000)  # no record sent twice


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(model_config, "MODELS_SQL_DIR", tmp_path)
    return tmp_path


def tier_model(models_dir: Path, prefix: str) -> ReverseEtlModel:
    (models_dir / f"{prefix}.sql").write_text(
        f"SELECT email, tier FROM app.tiers WHERE email LIKE '{prefix}%'"
    )
    return ReverseEtlModel.model_validate(
        {
            "sql": f"{prefix}.sql",
            "object_type": "contacts",
            "key": {"column": "email", "property": "email"},
            "mode": "upsert",
            "properties": {"tier": "customer_tier"},
        }
    )


def set_tier_options(sandbox, options: list[str]) -> None:
    body = {"options": [{"label": option, "value": option} for option in options]}
    with sandbox.http() as http:
        http.patch("/crm/v3/properties/contacts/customer_tier", json=body).raise_for_status()


# Bad rows in four of ten batches: alone, side by side, three in a row, at both ends of a batch.
BAD_ROWS = [3, 240, 241, 500, 501, 502, 599, 900, 999]


@pytest.mark.parametrize(
    "name_inputs", [True, False], ids=["refusal_names_inputs", "refusal_names_properties"]
)
def test_isolating_refused_rows_gives_the_same_results_and_calls_with_four_in_flight(
    push, db, sandbox, models_dir, server_log, name_inputs
):
    # Twin models over the same 1,000 rows (keys a0000.. and b0000..): one pushed a batch at a time,
    # the other four at once, both against the same stale cached definitions.
    db.execute(
        "CREATE TABLE app.tiers (n integer, email text, tier text);"
        "INSERT INTO app.tiers SELECT n, prefix || lpad(n::text, 4, '0') || '@example.com', 'gold' "
        "FROM generate_series(0, 999) AS n, (VALUES ('a'), ('b')) AS twins (prefix)"
    )
    db.commit()
    twins = {"a": tier_model(models_dir, "a"), "b": tier_model(models_dir, "b")}
    for prefix, model in twins.items():
        push(f"tiers_{prefix}", model)  # creates the contacts; caches definitions in which platinum is valid
    set_tier_options(sandbox, ["bronze", "silver", "gold"])  # HubSpot drops it; the cache still has it
    sandbox.set_config(batchErrorsNameInputs=name_inputs)
    db.execute(
        "UPDATE app.tiers SET tier = CASE WHEN n = ANY(%s) THEN 'platinum' ELSE 'silver' END", (BAD_ROWS,)
    )
    db.execute("CREATE TEMP TABLE stale_cache AS SELECT * FROM hubspot_sync.push_property_cache")
    db.commit()
    sandbox.set_faults({"latencyMs": 30, "endpoints": [BATCH_UPSERT]})

    outcomes = {}
    for prefix, in_flight in (("a", 1), ("b", IN_FLIGHT)):
        # A refusal makes the push forget the cached definitions: each twin starts from the same copy.
        db.execute("DELETE FROM hubspot_sync.push_property_cache")
        db.execute("INSERT INTO hubspot_sync.push_property_cache SELECT * FROM stale_cache")
        db.commit()
        sandbox.reset_stats()
        server_log.clear()
        summary = push(f"tiers_{prefix}", twins[prefix], max_reject_share=1.0, requests_in_flight=in_flight)
        contacts = sandbox.sandbox.table("contacts")
        failed = db.execute(
            "SELECT substr(record_key, 2), last_error_category, last_error FROM hubspot_sync.push_state "
            "WHERE model = %s AND failed_attempts > 0 ORDER BY record_key",
            (f"tiers_{prefix}",),
        ).fetchall()
        db.commit()
        outcomes[prefix] = {
            "tiers": [
                contacts.find(f"{prefix}{n:04d}@example.com", "email").props["customer_tier"]
                for n in range(1_000)
            ],
            "failed": failed,
            "counts": (summary.records_written, summary.details["failed"], summary.details["batch_calls"]),
            "isolation_calls": summary.details["isolation_calls"],
            "calls_seen": upsert_calls(sandbox),
        }
        if in_flight > 1:
            assert 2 <= server_log.most_at_once(BATCH_UPSERT) <= IN_FLIGHT

    sequential, concurrent = outcomes["a"], outcomes["b"]
    assert concurrent == sequential
    assert sequential["tiers"] == ["gold" if n in BAD_ROWS else "silver" for n in range(1_000)]
    assert [key for key, _, _ in sequential["failed"]] == [f"{n:04d}@example.com" for n in BAD_ROWS]
    assert {(category, reason) for _, category, reason in sequential["failed"]} == {
        ("VALIDATION_ERROR", "customer_tier: INVALID_OPTION")
    }
    assert sequential["calls_seen"] == sequential["counts"][2] == 10 + sequential["isolation_calls"]
    if name_inputs:
        assert sequential["isolation_calls"] == 4  # one resend per batch holding bad rows
    else:
        assert sequential["isolation_calls"] > 4
