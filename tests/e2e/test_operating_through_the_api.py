"""Operating the sync through Airflow's REST API v2, on the session's real stack (tests/e2e/conftest.py):
invalid params refused when a run is triggered, a backfill over three intervals that never moves
the extraction cursor back, a task failed by HubSpot's daily limit alerted to the webhook (without
the token), then cleared and rerun from the API, and the sync page's JSON checked against the tables.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from scripts import demo
from tests.e2e.conftest import RUN_TIMEOUT_S, SEED, task_states, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(600)]

DAG = "hubspot_extract"
INTERVAL = timedelta(minutes=15)  # the shipped schedule (extract: "*/15 * * * *")


def runs_of(api: httpx.Client, **params) -> list[dict]:
    return api.get(f"/api/v2/dags/{DAG}/dagRuns", params={"limit": 100, **params}).json()["dag_runs"]


def cursors(warehouse_url: str) -> dict[str, int]:
    with psycopg.connect(warehouse_url) as conn:
        return dict(conn.execute("SELECT object_type, cursor_ms FROM hubspot_sync.cursors").fetchall())


@pytest.mark.parametrize(
    ("conf", "named"),
    [({"objects": ["nope"]}, "objects"), ({"since": "yesterday"}, "since")],
    ids=["unknown-object-type", "since-not-a-date"],
)
def test_invalid_params_are_refused_when_triggered(stack, conf, named):
    before = len(runs_of(stack.api))
    refused = stack.api.post(f"/api/v2/dags/{DAG}/dagRuns", json={"logical_date": None, "conf": conf})
    assert refused.status_code == 400, refused.text
    assert named in refused.json()["detail"]
    assert len(runs_of(stack.api)) == before  # nothing was created, so nothing runs


def test_a_backfill_over_three_intervals_never_moves_the_cursor_back(stack):
    wait_for_run(stack.api, DAG)  # the first scheduled run set the cursors
    before = cursors(stack.warehouse_url)
    assert before
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) - 4 * INTERVAL
    body = {
        "dag_id": DAG,
        "from_date": (end - 2 * INTERVAL).isoformat(),
        "to_date": end.isoformat(),
        "max_active_runs": 1,
        "dag_run_conf": {"objects": ["companies", "deals"]},
    }
    planned = stack.api.post("/api/v2/backfills/dry_run", json=body)
    assert planned.status_code == 200, planned.text
    assert len(planned.json()["backfills"]) == 3

    created = stack.api.post("/api/v2/backfills", json=body)
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 3 * RUN_TIMEOUT_S
    while True:
        backfilled = runs_of(stack.api, run_type="backfill")
        if len(backfilled) == 3 and all(run["state"] in ("success", "failed") for run in backfilled):
            break
        assert time.monotonic() < deadline, f"backfill runs not finished: {backfilled}"
        time.sleep(2)
    for run in backfilled:
        assert run["state"] == "success", task_states(stack.api, DAG, run)
    starts = sorted(datetime.fromisoformat(run["data_interval_start"]) for run in backfilled)
    assert starts == [end - 2 * INTERVAL, end - INTERVAL, end]

    after = cursors(stack.warehouse_url)
    assert {kind: after[kind] >= cursor for kind, cursor in before.items()} == dict.fromkeys(before, True)
    with psycopg.connect(stack.warehouse_url) as conn:
        counts = {kind: conn.execute(f"SELECT count(*) FROM hubspot.{kind}").fetchone()[0] for kind in SEED}
        tasks = conn.execute(
            "SELECT task_id, count(*) FROM hubspot_sync.run_metrics WHERE run_id = ANY(%s) GROUP BY task_id",
            ([run["dag_run_id"] for run in backfilled],),
        ).fetchall()
    assert counts == SEED
    assert dict(tasks) == {"extract_companies": 3, "extract_deals": 3, "extract_associations": 3}


def test_a_failed_task_is_alerted_then_cleared_and_rerun_from_the_api(stack, alerts):
    received = alerts[1]
    sandbox = httpx.Client(base_url=stack.hubspot_url, timeout=30)
    daily_max = sandbox.get("/_sandbox/limits").json()["tiers"]["professional"]["daily_max"]
    sandbox.put("/_sandbox/limits", json={"dailyUsed": daily_max}).raise_for_status()
    try:
        triggered = stack.api.post(
            f"/api/v2/dags/{DAG}/dagRuns", json={"logical_date": None, "conf": {"objects": ["companies"]}}
        )
        assert triggered.status_code == 200, triggered.text
        run_id = triggered.json()["dag_run_id"]
        failed = wait_for_run(stack.api, DAG, run_id, expect="failed")
        assert task_states(stack.api, DAG, failed)["extract_companies"] == "failed"
    finally:
        sandbox.put("/_sandbox/limits", json={"dailyUsed": 0}).raise_for_status()

    # The task's alert comes from its worker, the run's from the DAG processor: both, for this run.
    deadline = time.monotonic() + 60
    while {alert["event"] for alert in received if alert["run_id"] == run_id} != {
        "task_failure",
        "dag_failure",
    }:
        assert time.monotonic() < deadline, f"alerts received: {received}"
        time.sleep(1)
    for_run = {alert["event"]: alert for alert in received if alert["run_id"] == run_id}
    assert for_run["task_failure"]["task_id"] == "extract_companies"
    assert "daily API limit" in for_run["task_failure"]["exception"]
    assert [task["task_id"] for task in for_run["dag_failure"]["failed_tasks"]] == ["extract_companies"]
    assert demo.SANDBOX_TOKEN not in json.dumps(received)

    cleared = stack.api.post(
        f"/api/v2/dags/{DAG}/clearTaskInstances",
        json={
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": ["extract_companies"],
            "include_downstream": True,
            "only_failed": False,
        },
    )
    assert cleared.status_code == 200, cleared.text
    assert {task["task_id"] for task in cleared.json()["task_instances"]} >= {"extract_companies"}
    wait_for_run(stack.api, DAG, run_id)
    task = stack.api.get(f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/extract_companies").json()
    assert (task["state"], task["try_number"]) == ("success", 2)
    with psycopg.connect(stack.warehouse_url) as conn:
        tries = conn.execute(
            "SELECT try_number, status FROM hubspot_sync.run_metrics"
            " WHERE run_id = %s AND task_id = 'extract_companies' ORDER BY try_number",
            (run_id,),
        ).fetchall()
    assert tries == [(1, "failed"), (2, "success")]


def test_the_sync_page_json_matches_the_tables(stack):
    wait_for_run(stack.api, DAG)
    # Paused, and nothing running: the tables hold still while the page and the test read them.
    stack.api.patch(f"/api/v2/dags/{DAG}", json={"is_paused": True}).raise_for_status()
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while runs_of(stack.api, state=["queued", "running"]):
            assert time.monotonic() < deadline, "runs still active after pausing"
            time.sleep(2)
        response = stack.api.get("/hubspot-sync/api/summary")
    finally:
        stack.api.patch(f"/api/v2/dags/{DAG}", json={"is_paused": False}).raise_for_status()
    assert response.status_code == 200, response.text
    assert httpx.get(f"{stack.url}/hubspot-sync/api/summary", timeout=60).status_code == 401
    data = response.json()
    read_at = datetime.fromisoformat(data["generated_at"])

    with psycopg.connect(stack.warehouse_url) as conn:

        def one(query: str, *params):
            return conn.execute(query, params).fetchone()[0]

        expected, cursor_at, last_status = {}, {}, {}
        for kind in SEED:
            task = f"extract_{kind}"
            expected[kind] = {
                "live_records": one(f"SELECT count(*) FROM hubspot.{kind} WHERE NOT archived"),
                "archived_records": one(f"SELECT count(*) FROM hubspot.{kind} WHERE archived"),
                "failed_tries_7d": one(
                    "SELECT count(*) FROM hubspot_sync.run_metrics WHERE task_id = %s"
                    " AND status IN ('failed', 'abandoned')",
                    task,
                ),
                "api_calls_24h": one(
                    "SELECT coalesce(sum(api_calls), 0) FROM hubspot_sync.run_metrics WHERE task_id = %s",
                    task,
                ),
                "rate_limited_24h": one(
                    "SELECT coalesce(sum(rate_limited_calls), 0) FROM hubspot_sync.run_metrics"
                    " WHERE task_id = %s",
                    task,
                ),
            }
            cursor_at[kind] = one("SELECT cursor_ms FROM hubspot_sync.cursors WHERE object_type = %s", kind)
            last_status[kind] = one(
                "SELECT status FROM hubspot_sync.run_metrics WHERE task_id = %s"
                " ORDER BY started_at DESC LIMIT 1",
                task,
            )
        calls = one("SELECT sum(api_calls) FROM hubspot_sync.run_metrics")
        companies_tries = conn.execute(
            "SELECT run_id, try_number, status, records_read FROM hubspot_sync.run_metrics"
            " WHERE task_id = 'extract_companies' ORDER BY started_at"
        ).fetchall()

    objects = {entry["object_type"]: entry for entry in data["objects"]}
    shown = {kind: {key: objects[kind][key]["value"] for key in expected[kind]} for kind in SEED}
    assert shown == expected
    assert {kind: expected[kind]["live_records"] for kind in SEED} == SEED
    assert data["api"]["calls_24h"]["value"] == calls
    assert data["api"]["daily_limit"] == 650_000  # the sandbox connection's professional tier
    for kind in SEED:
        lag = (read_at - datetime.fromtimestamp(cursor_at[kind] / 1000, UTC)).total_seconds()
        assert objects[kind]["freshness_lag_seconds"] == pytest.approx(lag, abs=1)
        assert objects[kind]["last_status"] == last_status[kind]
    charted = [
        (run["run_id"], run["try_number"], run["status"], run["records_read"])
        for run in objects["companies"]["runs"]
    ]
    assert charted == companies_tries
