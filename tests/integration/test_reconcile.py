"""hubspot_reconcile end to end: extraction fills the mirror, drift is injected on both sides, then
reconciliation reports it (report mode), repairs it (repair mode), and finds nothing more."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict

import psycopg
import pytest

from hubspot_sync.objects import ASSOCIATION_TYPES
from tests.integration.mirror import (
    sandbox_associations,
    sandbox_records,
    warehouse_associations,
    warehouse_records,
)

pytestmark = pytest.mark.integration
OBJECTS = ("companies", "contacts", "deals")


def run_dag(dag_id, **params):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"), safe_mode=False)
    assert bag.import_errors == {}
    run = bag.dags[dag_id].test(run_conf=params or None)
    assert run.state == "success"
    return run


def findings(url, run_id):
    """(object_type, kind) -> {record_id: repaired}."""
    found = defaultdict(dict)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT object_type, kind, record_id, repaired FROM hubspot_sync.reconcile_findings "
            "WHERE run_id = %s",
            (run_id,),
        )
        for object_type, kind, record_id, repaired in rows:
            assert record_id not in found[(object_type, kind)], "a difference is found once"
            found[(object_type, kind)][record_id] = repaired
    return found


def assert_mirror_equal(hubspot, url):
    for object_type in OBJECTS:
        assert warehouse_records(url, object_type) == sandbox_records(hubspot, object_type), object_type
        archived = sandbox_records(hubspot, object_type, archived=True)
        assert warehouse_records(url, object_type, archived=True).keys() >= archived.keys(), object_type
    live = {object_type: sorted(sandbox_records(hubspot, object_type)) for object_type in OBJECTS}
    assert warehouse_associations(url) == sandbox_associations(hubspot, live)


@pytest.fixture
def mirrored(airflow_db, hubspot, warehouse, sync_config):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=40, contacts=400, deals=60)
    run_dag("hubspot_extract")
    return hubspot, warehouse


def inject_drift(hubspot, url):
    """One case of every kind; returns (object_type, kind) -> expected record ids."""
    contacts = sorted(sandbox_records(hubspot, "contacts"))
    companies = sorted(sandbox_records(hubspot, "companies"))
    expected = defaultdict(set)
    with hubspot.http() as http:
        # HubSpot's silent drift: values change, last-modified and search do not.
        response = http.post(
            "/_sandbox/drift",
            json={"objectType": "contacts", "id": str(contacts[0]), "properties": {"firstname": "Drifted"}},
        )
        assert response.status_code == 200, response.text
        expected[("contacts", "values_differ")].add(contacts[0])
        response = http.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": str(contacts[1])})
        assert response.status_code == 204, response.text
        expected[("contacts", "extra")].add(contacts[1])
        assert http.delete(f"/crm/v3/objects/contacts/{contacts[2]}").status_code == 204
        expected[("contacts", "archived_differs")].add(contacts[2])
        expected[("contacts", "stale")].add(contacts[2])  # archiving moves last-modified
        response = http.patch(
            f"/crm/v3/objects/contacts/{contacts[3]}", json={"properties": {"jobtitle": "CTO"}}
        )
        assert response.status_code == 200, response.text
        expected[("contacts", "stale")].add(contacts[3])
        created = http.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "late@example.org", "firstname": "Late"}},
        )
        assert created.status_code == 201, created.text
        expected[("contacts", "missing")].add(int(created.json()["id"]))
        merged = http.post(
            "/crm/v3/objects/companies/merge",
            json={"primaryObjectId": str(companies[0]), "objectIdToMerge": str(companies[1])},
        )
        assert merged.status_code == 200, merged.text
        expected[("companies", "missing")].add(int(merged.json()["id"]))
        expected[("companies", "merged_differs")].update(companies[:2])
        # Association changes do not bump last-modified.
        links = http.get(f"/crm/v4/objects/contacts/{contacts[6]}/associations/companies").json()["results"]
        for link in links:
            http.delete(f"/crm/v4/objects/contacts/{contacts[6]}/associations/companies/{link['toObjectId']}")
        assert links
        http.put(f"/crm/v4/objects/contacts/{contacts[7]}/associations/default/companies/{companies[5]}")
        # A value reverse ETL pushed, since changed by a person in HubSpot's UI.
        pushed = http.post(
            "/_sandbox/write",
            json={
                "objectType": "companies",
                "id": str(companies[4]),
                "properties": {"churn_risk": "9"},
                "userId": 7,
            },
        )
        assert pushed.status_code == 200, pushed.text
        expected[("companies", "stale")].add(companies[4])
        expected[("companies", "pushed_overwritten")].add(companies[4])
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM hubspot.contacts WHERE id = %s", (contacts[4],))
        expected[("contacts", "missing")].add(contacts[4])
        conn.execute("UPDATE hubspot.contacts SET lastname = 'Edited by hand' WHERE id = %s", (contacts[5],))
        expected[("contacts", "values_differ")].add(contacts[5])
        conn.execute(
            "INSERT INTO hubspot.contacts (id, updated_at, synced_at) "
            "VALUES (%s, now(), now() - interval '1 day')",
            (10**12,),
        )
        expected[("contacts", "extra")].add(10**12)
        conn.execute(
            "INSERT INTO hubspot_sync.push_state (model, record_key, object_type, pushed) VALUES "
            "('company_churn_risk', %s, 'companies', '{\"churn_risk\": \"1\"}'), "
            "('company_churn_risk', %s, 'companies', jsonb_build_object('churn_risk', "
            "(SELECT properties ->> 'churn_risk' FROM hubspot.companies WHERE id = %s)))",
            (str(companies[4]), str(companies[8]), companies[8]),
        )
        conn.execute("DELETE FROM hubspot.contact_company_associations WHERE contact_id = %s", (contacts[8],))
    association = ASSOCIATION_TYPES[0].table
    expected[(association, "association_extra")].add(contacts[6])
    expected[(association, "association_missing")].update({contacts[7], contacts[8]})
    return expected


def test_every_kind_of_drift_is_found_once_reported_then_repaired(mirrored, webhook):
    hubspot, url = mirrored
    expected = inject_drift(hubspot, url)

    report = run_dag("hubspot_reconcile", mode="report")
    found = findings(url, report.run_id)
    alerts = [json.loads(request["body"]) for request in webhook]
    contacts_alert = next(alert for alert in alerts if "contacts" in alert["drift"])
    assert contacts_alert["event"] == "reconcile_drift"
    assert contacts_alert["drift"]["contacts"]["missing"] == len(expected[("contacts", "missing")])
    assert f"hubspot_sync.reconcile_findings WHERE run_id = '{report.run_id}'" in contacts_alert["text"]
    for key, ids in expected.items():
        assert ids <= set(found[key]), key
        assert not any(found[key].values()), f"{key} repaired in report mode"
    unexpected = {key: set(found[key]) - expected.get(key, set()) for key in found}
    # Records changed by the merge and the deleted contact's own associations come along; nothing else.
    assert {key: ids for key, ids in unexpected.items() if ids and "association" not in key[0]} == {}
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM hubspot.contacts WHERE id = %s", (10**12,)).fetchone() == (
            1,
        )
        runs = dict(
            conn.execute(
                "SELECT object_type, found FROM hubspot_sync.reconcile_runs "
                "WHERE run_id = %s AND status = 'success'",
                (report.run_id,),
            ).fetchall()
        )
        assert runs["contacts"]["missing"] == len(expected[("contacts", "missing")])
        detail = conn.execute(
            "SELECT detail FROM hubspot_sync.reconcile_findings "
            "WHERE run_id = %s AND kind = 'pushed_overwritten'",
            (report.run_id,),
        ).fetchone()[0]
        assert detail["written_by"]["churn_risk"]["sourceType"] == "CRM_UI"
        assert detail["written_by"]["churn_risk"]["updatedByUserId"] == 7
        fields = conn.execute(
            "SELECT record_id, fields FROM hubspot_sync.reconcile_findings "
            "WHERE run_id = %s AND kind = 'values_differ'",
            (report.run_id,),
        ).fetchall()
        assert sorted(f for _, f in fields) == [["firstname"], ["lastname"]]

    repair = run_dag("hubspot_reconcile", mode="repair")
    found = findings(url, repair.run_id)
    for key, ids in expected.items():
        assert ids <= set(found[key]), key
        assert all(found[key][i] for i in ids), f"{key} not repaired"
    assert_mirror_equal(hubspot, url)
    with psycopg.connect(url) as conn:
        # An audit row of ids only: deleted_records, or the erasure tombstone when people are erased.
        audit = {row[0] for row in conn.execute("SELECT record_id FROM hubspot_sync.deleted_records")}
        if conn.execute("SELECT to_regclass('hubspot_sync.erasures')").fetchone()[0]:
            audit |= {row[0] for row in conn.execute("SELECT record_id FROM hubspot_sync.erasures")}
        assert audit == expected[("contacts", "extra")]
        pushed = conn.execute(
            "SELECT pushed FROM hubspot_sync.push_state WHERE record_key = %s",
            (str(min(expected[("companies", "pushed_overwritten")])),),
        ).fetchone()[0]
        assert "churn_risk" not in pushed  # repush: the model's next run sends its value again

    again = run_dag("hubspot_reconcile")
    assert findings(url, again.run_id) == {}


def test_a_run_that_cannot_finish_says_which_object_types_it_did_not_cover(mirrored):
    hubspot, url = mirrored
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR / "hubspot_reconcile.py"), safe_mode=False)
    hubspot.set_limits(tier="starter", dailyUsed=250_000)
    try:
        failed = bag.dags["hubspot_reconcile"].test(run_conf={"objects": ["contacts"]})
    finally:
        hubspot.set_limits(tier="off", dailyUsed=0)
    assert failed.get_task_instance("reconcile_contacts").state == "failed"
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT object_type, status, note FROM hubspot_sync.reconcile_runs WHERE run_id = %s ORDER BY 1",
            (failed.run_id,),
        ).fetchall()
    assert [(object_type, status) for object_type, status, _ in rows] == [("contacts", "failed")]
    assert "HubSpotDailyLimitError" in rows[0][2]


def test_killed_mid_run_then_rerun_converges(mirrored):
    hubspot, url = mirrored
    expected = inject_drift(hubspot, url)
    # Slow list pages down so the kill lands inside the listing of some object type.
    hubspot.set_faults(
        {"latencyMs": 30, "latencyRate": 1.0, "endpoints": ["GET /crm/v3/objects/{objectType}"]}
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow",
            "dags",
            "test",
            "hubspot_reconcile",
            "--conf",
            '{"mode": "repair"}',
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300  # Airflow's own start takes a while on a loaded machine
        while time.monotonic() < deadline and process.poll() is None:
            with psycopg.connect(url) as conn:
                exists = conn.execute("SELECT to_regclass('hubspot_sync.reconcile_runs')").fetchone()[0]
                running = (
                    exists
                    and conn.execute(
                        "SELECT count(*) FROM hubspot_sync.reconcile_runs WHERE status = 'running'"
                    ).fetchone()[0]
                )
            if running:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"reconciliation never started (airflow dags test exit code {process.poll()})")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    hubspot.clear_faults()
    # A real rerun comes long after the kill; here, wait until PostgreSQL has ended the killed sessions
    # and released their advisory locks (what marks a try abandoned), as it does moments after the kill.
    held = (
        "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid) "
        "WHERE l.locktype = 'advisory' AND a.datname = current_database() AND a.pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute(held).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed run's sessions never ended"
            time.sleep(0.05)

    rerun = run_dag("hubspot_reconcile", mode="repair")
    found = findings(url, rerun.run_id)
    for key, ids in expected.items():
        if key[1] != "pushed_overwritten":
            assert all(found.get(key, {}).get(i, True) for i in ids), f"{key} not repaired"
    assert_mirror_equal(hubspot, url)
    with psycopg.connect(url) as conn:
        statuses = {status for (status,) in conn.execute("SELECT status FROM hubspot_sync.reconcile_runs")}
    assert "running" not in statuses


def test_removals_past_the_share_are_reported_not_made(mirrored, sync_config):
    hubspot, url = mirrored
    sync_config({"dag_defaults": {"retries": 0}, "reconcile": {"max_delete_share": 0}})
    gone = sorted(sandbox_records(hubspot, "contacts"))[0]
    with hubspot.http() as http:
        assert (
            http.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": str(gone)}).status_code == 204
        )
    run = run_dag("hubspot_reconcile", objects=["contacts"])
    with psycopg.connect(url) as conn:
        finding = conn.execute(
            "SELECT record_id, repaired, repair_note FROM hubspot_sync.reconcile_findings "
            "WHERE run_id = %s AND kind = 'extra'",
            (run.run_id,),
        ).fetchall()
        assert conn.execute("SELECT count(*) FROM hubspot.contacts WHERE id = %s", (gone,)).fetchone() == (1,)
    assert [(record_id, repaired) for record_id, repaired, _ in finding] == [(gone, False)]
    assert "max_delete_share" in finding[0][2]


def test_an_overwritten_pushed_value_is_accepted_when_the_model_says_so(mirrored, sync_config):
    hubspot, url = mirrored
    sync_config(
        {"dag_defaults": {"retries": 0}, "models": {"company_churn_risk": {"on_overwrite": "accept"}}}
    )
    company = sorted(sandbox_records(hubspot, "companies"))[0]
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO hubspot_sync.push_state (model, record_key, object_type, pushed) "
            "VALUES ('company_churn_risk', %s, 'companies', '{\"churn_risk\": \"1\"}')",
            (str(company),),
        )
    with hubspot.http() as http:
        body = {"objectType": "companies", "id": str(company), "properties": {"churn_risk": "7"}, "userId": 3}
        assert http.post("/_sandbox/write", json=body).status_code == 200
    run = run_dag("hubspot_reconcile", objects=["companies"], mode="repair")
    assert findings(url, run.run_id)[("companies", "pushed_overwritten")] == {company: True}
    with psycopg.connect(url) as conn:
        pushed = conn.execute(
            "SELECT pushed FROM hubspot_sync.push_state WHERE record_key = %s", (str(company),)
        )
        assert pushed.fetchone()[0] == {"churn_risk": "7"}  # HubSpot's value is taken as pushed: not re-sent
