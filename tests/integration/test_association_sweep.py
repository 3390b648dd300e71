"""Associations through hubspot_extract: inline full loads, paging, the rolling sweep, the idle cost,
batch reads of 1,000 source records, several in flight."""

import threading
import time

import psycopg
import pytest

from hubspot_sync.extract.associations import extract_associations
from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotUnavailableError
from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.run_metrics import RunSummary
from tests.connections import GENEROUS, use_sandbox
from tests.integration.mirror import sandbox_associations, sandbox_records
from tests.integration.test_extract_dag import run_extract, task_summaries

pytestmark = pytest.mark.integration
BATCH_READ = "POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"
LIST = "GET /crm/v3/objects/{objectType}"
SEARCH = "POST /crm/v3/objects/{objectType}/search"
PROPERTIES = "GET /crm/v3/properties/{objectType}"
READ_INPUTS = 1_000  # source records a v4 association batch read takes
IN_FLIGHT = 4
HOUR_MS = 3_600_000
MIRRORED = ("companies", "contacts", "deals")
SAVED_TABLES = [f"hubspot.{a.table}" for a in ASSOCIATION_TYPES] + ["hubspot_sync.association_sweeps"]


def _create(http, object_type: str, properties: list[dict]) -> list[int]:
    ids = []
    for start in range(0, len(properties), 100):
        inputs = [{"properties": p} for p in properties[start : start + 100]]
        response = http.post(f"/crm/v3/objects/{object_type}/batch/create", json={"inputs": inputs})
        assert response.status_code == 201, response.text
        ids += [int(record["id"]) for record in response.json()["results"]]
    return sorted(ids)


def _associate(http, from_type: str, from_id: int, contacts: list[int]) -> None:
    for start in range(0, len(contacts), 1000):
        links = [{"from": {"id": str(from_id)}, "to": {"id": str(c)}} for c in contacts[start : start + 1000]]
        response = http.post(
            f"/crm/v4/associations/{from_type}/contacts/batch/associate/default", json={"inputs": links}
        )
        assert response.status_code == 200, response.text


CONTACT_COMPANY = next(a for a in ASSOCIATION_TYPES if a.table == "contact_company_associations")


def _linked(url: str, table: str, column: str, key: str, record_id: int) -> set[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT {column} FROM hubspot.{table} WHERE {key} = %s", (record_id,))
        return {row[0] for row in rows}


def test_records_with_more_associations_than_a_page_land_whole(airflow_db, hubspot, warehouse, sync_config):
    # Every record's associations read every run: the removals below change no record.
    sync_config({"dag_defaults": {"retries": 0}, "thresholds": {"association_sweep_hours": 0}})
    hubspot.seed(companies=5, contacts=50, deals=10)
    with hubspot.http() as http:
        (company,) = _create(http, "companies", [{"name": "Many contacts"}])
        (deal,) = _create(http, "deals", [{"dealname": "Many contacts"}])
        contacts = _create(http, "contacts", [{"email": f"big{i}@example.org"} for i in range(1_050)])
        _associate(http, "companies", company, contacts)
        _associate(http, "deals", deal, contacts)  # 1,050 contacts: 100 inline, then three v4 pages of 500
    hubspot.reset_stats()
    first = run_extract()
    assert first.state == "success"
    assert _linked(warehouse, "deal_contact_associations", "contact_id", "deal_id", deal) == set(contacts)
    assert _linked(warehouse, "contact_company_associations", "contact_id", "company_id", company) == set(
        contacts
    )
    # The full load reads associations inline with the records: one list page per 100 records; only the
    # deal with more than its inline page is read again, by v4 batch read (its first page and two more).
    endpoints = hubspot.stats()["byEndpoint"]
    assert endpoints[LIST] == sum(-(-n // 100) + 1 for n in (5 + 1, 50 + 1_050, 10 + 1))  # + archive page
    assert endpoints[BATCH_READ] == 3

    gone = [contacts[3], contacts[700], contacts[-1]]
    with hubspot.http() as http:
        for contact in gone:
            response = http.delete(f"/crm/v4/objects/deals/{deal}/associations/contacts/{contact}")
            assert response.status_code == 204, response.text
    hubspot.reset_stats()
    second = run_extract()
    assert second.state == "success"
    remaining = set(contacts) - set(gone)
    assert _linked(warehouse, "deal_contact_associations", "contact_id", "deal_id", deal) == remaining
    details = task_summaries(warehouse, second.run_id)["extract_associations"][1]
    assert details["deal_contact_associations"]["paged_sources"] == 1
    assert details["deal_contact_associations"]["failed_sources"] == 0
    # The whole sweep: one call per 1,000 live source records and association type, plus the deal's pages.
    live = {"contacts": 50 + 1_050, "deals": 10 + 1}
    assert (
        hubspot.stats()["byEndpoint"][BATCH_READ]
        == -(-live["contacts"] // READ_INPUTS) + 2 * -(-live["deals"] // READ_INPUTS) + 2
    )


def test_an_association_only_change_is_caught_within_one_sweep_period(airflow_db, hubspot, warehouse):
    """Runs every quarter of an hour with a one-hour period: each reads a slice, and a change HubSpot
    made without touching the record is in the mirror by the end of the hour, not before the sweep
    reaches it."""
    hubspot.seed(companies=5, contacts=3_500, deals=5)
    assert run_extract().state == "success"  # the full load, associations inline
    contacts = sorted(sandbox_records(hubspot, "contacts"))
    company = sorted(sandbox_records(hubspot, "companies"))[0]
    last = contacts[-1]  # the sweep reaches it last
    assert company not in _linked(warehouse, "contact_company_associations", "company_id", "contact_id", last)
    with hubspot.http() as http:
        response = http.put(f"/crm/v4/objects/contacts/{last}/associations/default/companies/{company}")
        assert response.status_code == 200, response.text

    start_ms = int(time.time() * 1000)
    swept = []
    hook = HubSpotHook(budget_conn_factory=lambda: psycopg.connect(warehouse))
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for quarter in range(5):
            summary = RunSummary("associations")
            now_ms = start_ms + quarter * HOUR_MS // 4
            extract_associations(
                hook, conn, [CONTACT_COMPANY], summary, f"run-{quarter}", HOUR_MS, now_ms=now_ms
            )
            swept.append(summary.details["contact_company_associations"]["swept_sources"])
            linked = _linked(warehouse, "contact_company_associations", "company_id", "contact_id", last)
            assert (company in linked) == (quarter == 4), quarter
    hook.close()
    # The first run starts the clock; then each quarter owes 875 records, read 1,000 a call.
    assert swept == [0, 0, 1_000, 1_000, 1_500]
    assert sum(swept) == 3_500


def test_a_run_with_nothing_changed_costs_a_handful_of_calls(airflow_db, hubspot, warehouse, sync_config):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=30, contacts=400, deals=60)
    assert run_extract().state == "success"
    hubspot.reset_stats()
    idle = run_extract()
    assert idle.state == "success"
    calls = hubspot.stats()["byEndpoint"]
    # Per object type: its properties, one search, one archive page; the sweep owes less than a batch.
    assert calls == {PROPERTIES: 3, SEARCH: 3, LIST: 3}, calls


@pytest.mark.parametrize("read_as", ["changed", "swept"])
def test_2500_source_records_cost_three_batch_reads_per_association_type(
    airflow_db, hubspot, warehouse, sync_config, read_as
):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=50, contacts=2_500, deals=2_500)
    assert run_extract().state == "success"
    if read_as == "changed":
        for object_type in ("contacts", "deals"):
            hubspot.bulk_touch(object_type, 2_500)
    else:  # every record's associations read every run
        sync_config({"dag_defaults": {"retries": 0}, "thresholds": {"association_sweep_hours": 0}})
    hubspot.reset_stats()
    run = run_extract()
    assert run.state == "success"
    details = task_summaries(warehouse, run.run_id)["extract_associations"][1]
    for association in ASSOCIATION_TYPES:
        counts = details[association.table]
        assert counts[f"{read_as}_sources"] == 2_500, association.table
        assert counts["paged_sources"] == counts["failed_sources"] == 0, association.table
    # ceil(2,500 / 1,000) calls per association type (contacts -> companies, deals -> both).
    assert hubspot.stats()["byEndpoint"][BATCH_READ] == 3 * len(ASSOCIATION_TYPES)


def test_reads_in_flight_land_the_same_rows_as_reads_one_at_a_time(
    airflow_db, hubspot, warehouse, monkeypatch
):
    hubspot.seed(companies=50, contacts=2_500, deals=2_500)
    assert run_extract().state == "success"
    live = {object_type: sorted(sandbox_records(hubspot, object_type)) for object_type in MIRRORED}
    contacts, deals, companies = live["contacts"], live["deals"], live["companies"]
    big_deal = deals[1_500]
    # Changes HubSpot makes without touching a record, in every batch; one deal gets three v4 pages.
    with hubspot.http() as http:
        seeded = http.get(f"/crm/v4/objects/deals/{big_deal}/associations/contacts").json()["results"]
        _associate(http, "deals", big_deal, contacts[:1_050])
        for contact in contacts[::400]:
            http.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{companies[-1]}")
        for deal in deals[::450]:
            for link in http.get(f"/crm/v4/objects/deals/{deal}/associations/companies").json()["results"]:
                http.delete(f"/crm/v4/objects/deals/{deal}/associations/companies/{link['toObjectId']}")
    _save_association_state(warehouse)
    _connect(monkeypatch, hubspot)
    hubspot.set_faults({"latencyMs": 50, "endpoints": [BATCH_READ]})  # long enough for reads to overlap
    ends, most_at_once = {}, {}
    for in_flight in (1, IN_FLIGHT):
        _restore_association_state(warehouse)
        hubspot.reset_stats()
        summary, most_at_once[in_flight] = _association_step(
            warehouse, f"sweep-{in_flight}", ASSOCIATION_TYPES, 0, requests_in_flight=in_flight
        )
        ends[in_flight] = (
            _association_rows(warehouse),
            _sweep_positions(warehouse),
            {association.table: summary.details[association.table] for association in ASSOCIATION_TYPES},
            hubspot.stats()["byEndpoint"][BATCH_READ],
        )

    assert ends[1] == ends[IN_FLIGHT]
    assert most_at_once[1] == 1
    assert 2 <= most_at_once[IN_FLIGHT] <= IN_FLIGHT
    rows, _, details, calls = ends[IN_FLIGHT]
    assert calls == 3 * len(ASSOCIATION_TYPES) + 2  # plus the big deal's second and third pages
    assert details["deal_contact_associations"]["paged_sources"] == 1
    assert all(details[a.table]["swept_sources"] == 2_500 for a in ASSOCIATION_TYPES)
    # HubSpot's side, read apart from the sync (its helper reads one v4 page a record: the big deal apart).
    hubspot_pairs = sandbox_associations(hubspot, live)
    for association in ASSOCIATION_TYPES:
        mirrored = {row[:3] for row in rows[association.table] if row[0] != big_deal}
        assert mirrored == {p for p in hubspot_pairs[association.table] if p[0] != big_deal}, (
            association.table
        )
    expected = set(contacts[:1_050]) | {int(link["toObjectId"]) for link in seeded}
    assert _linked(warehouse, "deal_contact_associations", "contact_id", "deal_id", big_deal) == expected


def test_a_read_failing_for_good_lands_no_later_batch_and_the_rerun_resumes(
    airflow_db, hubspot, warehouse, monkeypatch
):
    hubspot.seed(companies=20, contacts=3_000)
    assert run_extract().state == "success"  # the full load reads associations inline
    contacts = sorted(sandbox_records(hubspot, "contacts"))
    marked = contacts[READ_INPUTS - 1 :: READ_INPUTS]  # the last of each batch shows whether it landed
    with hubspot.http() as http:
        (company,) = _create(http, "companies", [{"name": "Linked without a change"}])
        for contact in marked:
            response = http.put(
                f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"
            )
            assert response.status_code == 200, response.text
    _connect(monkeypatch, hubspot, max_attempts=1)  # a 503 fails its read for good
    # The first read to arrive fails at once; the others, slower, are answered before it is raised.
    script = [{"endpoint": BATCH_READ, "call": 1, "fault": 503}]
    hubspot.set_faults({"latencyMs": 100, "endpoints": [BATCH_READ], "script": script})
    now_ms = int(time.time() * 1000) + HOUR_MS  # a whole period after the full load: every record is owed

    with pytest.raises(HubSpotUnavailableError, match="503"):
        _association_step(
            warehouse, "failing", [CONTACT_COMPANY], HOUR_MS, now_ms=now_ms, requests_in_flight=IN_FLIGHT
        )

    position = _sweep_positions(warehouse)["contact_company_associations"][0]
    linked = _linked(warehouse, "contact_company_associations", "contact_id", "company_id", company)
    assert position in {0, *marked[:-1]}  # the end of a landed batch, never past the failed one
    assert sorted(linked) == [contact for contact in marked if contact <= position]

    hubspot.clear_faults()
    summary, _ = _association_step(
        warehouse, "rerun", [CONTACT_COMPANY], HOUR_MS, now_ms=now_ms, requests_in_flight=IN_FLIGHT
    )
    assert summary.details["contact_company_associations"]["swept_sources"] == len(
        [contact for contact in contacts if contact > position]
    )
    assert _linked(warehouse, "contact_company_associations", "contact_id", "company_id", company) == set(
        marked
    )
    assert _sweep_positions(warehouse)["contact_company_associations"][2] == 1  # the pass completed


def _connect(monkeypatch: pytest.MonkeyPatch, hubspot, **extra) -> None:
    use_sandbox(monkeypatch, hubspot, **GENEROUS, **extra)


class _ReadsAtOnce:
    """The most association batch reads a hook had in flight at one moment."""

    def __init__(self, hook: HubSpotHook) -> None:
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()
        read = hook.batch_read_associations

        def watched(*args, **kwargs):
            with self._lock:
                self._now += 1
                self.most = max(self.most, self._now)
            try:
                return read(*args, **kwargs)
            finally:
                with self._lock:
                    self._now -= 1

        hook.batch_read_associations = watched


def _association_step(url, run_id, associations, period_ms, *, now_ms=None, requests_in_flight=1):
    """The association step as the operator runs it: (its summary, the most reads in flight at once)."""
    hook = HubSpotHook(budget_conn_factory=lambda: psycopg.connect(url))
    reads = _ReadsAtOnce(hook)
    summary = RunSummary("associations")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            extract_associations(
                hook,
                conn,
                list(associations),
                summary,
                run_id,
                period_ms,
                now_ms=now_ms,
                requests_in_flight=requests_in_flight,
            )
    finally:
        hook.close()
    return summary, reads.most


def _association_rows(url: str) -> dict[str, set[tuple]]:
    with psycopg.connect(url) as conn:
        return {
            a.table: set(
                conn.execute(
                    f"SELECT {a.from_column}, {a.to_column}, type_id, category, label FROM hubspot.{a.table}"
                )
            )
            for a in ASSOCIATION_TYPES
        }


def _sweep_positions(url: str) -> dict[str, tuple[int, float, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT association_table, after_id, owed, passes FROM hubspot_sync.association_sweeps"
        )
        return {table: (after_id, owed, passes) for table, after_id, owed, passes in rows}


def _save_association_state(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE SCHEMA saved")
        for table in SAVED_TABLES:
            conn.execute(f"CREATE TABLE saved.{table.replace('.', '__')} AS TABLE {table}")


def _restore_association_state(url: str) -> None:
    with psycopg.connect(url) as conn:
        for table in SAVED_TABLES:
            conn.execute(f"TRUNCATE {table}")
            conn.execute(f"INSERT INTO {table} SELECT * FROM saved.{table.replace('.', '__')}")
