"""A full load split between the list cursor and CRM search over id ranges, through the DAG: the
sandbox over HTTP, real PostgreSQL, the real Airflow runtime."""

import psycopg
import pytest

from tests.integration.killing import exists, kill_when
from tests.integration.test_extract_dag import assert_mirror_equal, run_extract, task_summaries

pytestmark = pytest.mark.integration
SEARCH = "POST /crm/v3/objects/{objectType}/search"
LIST = "GET /crm/v3/objects/{objectType}"


@pytest.fixture
def split_config(sync_config):
    # Split anything of 1,000 records or more (into chunks of about 2,000: one transaction each).
    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "parallel": {"requests_in_flight": 4, "split_min_records": 1000},
            "thresholds": {"association_sweep_hours": 0},
        }
    )


def chunks_left(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM hubspot_sync.full_load_chunks").fetchone()[0]


def test_split_full_load_mirrors_every_record_and_association(airflow_db, hubspot, warehouse, split_config):
    hubspot.seed(companies=400, contacts=6_000, deals=2_400)
    # List pages slower than search pages: search readers take a fair share of the ids.
    hubspot.set_faults({"latencyMs": 30, "latencyRate": 1.0, "endpoints": [LIST]})
    run = run_extract()
    hubspot.clear_faults()
    assert run.state == "success"
    assert_mirror_equal(hubspot, warehouse)

    summaries = task_summaries(warehouse, run.run_id)
    for object_type, records in (("contacts", 6_000), ("deals", 2_400)):
        status, details = summaries[f"extract_{object_type}"]
        split = details["full_load"]
        assert status == "success"
        assert split["search_ranges"] > 1
        assert split["read_by_list"] > 0, split
        assert split["read_by_search"] > 0, split
        # Where they met, a chunk may be read by both; nothing else is read twice.
        assert records <= split["read_by_list"] + split["read_by_search"] <= records + 2_000 + 100
    assert summaries["extract_companies"][1]["full_load"]["search_ranges"] == 0  # under 1,000: the list alone
    assert chunks_left(warehouse) == 0

    # The next run is incremental: nothing is left of the full load.
    rerun = run_extract()
    assert rerun.state == "success"
    assert task_summaries(warehouse, rerun.run_id)["extract_contacts"][1]["mode"] == "incremental"


def test_a_list_out_of_id_order_drops_the_split_and_loses_nothing(
    airflow_db, hubspot, warehouse, split_config
):
    hubspot.seed(companies=20, contacts=6_000, deals=20)
    hubspot.set_config(listPageOrder="reversed")  # each page highest id first
    hubspot.set_faults({"latencyMs": 20, "latencyRate": 1.0, "endpoints": [LIST, SEARCH]})
    run = run_extract()
    hubspot.clear_faults()
    assert run.state == "success"
    assert_mirror_equal(hubspot, warehouse)

    split = task_summaries(warehouse, run.run_id)["extract_contacts"][1]["full_load"]
    assert "out of order" in split["split_dropped"]
    assert split["search_ranges"] > 1
    # The list read on to its end; search finished only the ranges it had taken before.
    assert split["read_by_list"] >= 6_000 - split["read_by_search"]
    assert split["read_by_search"] <= 4 * 2_000
    assert chunks_left(warehouse) == 0


def test_split_full_load_killed_then_resumed_reads_only_what_is_left(
    airflow_db, hubspot, warehouse, split_config
):
    hubspot.seed(companies=20, contacts=12_000, deals=20)
    hubspot.set_faults({"latencyMs": 40, "latencyRate": 1.0, "endpoints": [LIST, SEARCH]})

    def two_ranges_done(conn):
        return (
            exists(conn, "hubspot_sync.full_load_chunks")
            and conn.execute(
                "SELECT count(*) FILTER (WHERE done) >= 2 FROM hubspot_sync.full_load_chunks "
                "WHERE object_type = 'contacts'"
            ).fetchone()[0]
        )

    kill_when(
        "hubspot_extract",
        warehouse,
        two_ranges_done,
        within=180,
        what="no id range of contacts was ever done",
    )
    with psycopg.connect(warehouse) as conn:
        landed = conn.execute("SELECT count(*) FROM hubspot.contacts").fetchone()[0]
    assert 0 < landed < 12_000

    hubspot.clear_faults()
    rerun = run_extract()
    assert rerun.state == "success"
    assert_mirror_equal(hubspot, warehouse)
    details = task_summaries(warehouse, rerun.run_id)["extract_contacts"][1]
    assert details["mode"] == "full_load_resumed"
    split = details["full_load"]
    # Resumed, not restarted: what landed before the kill is not read again (but for a batch in flight).
    assert split["read_by_list"] + split["read_by_search"] <= 12_000 - landed + 4 * 2_000
    assert chunks_left(warehouse) == 0


def test_requests_in_flight_one_reads_by_the_list_alone(airflow_db, hubspot, warehouse, sync_config):
    sync_config(
        {"dag_defaults": {"retries": 0}, "parallel": {"requests_in_flight": 1, "split_min_records": 1}}
    )
    hubspot.seed(companies=50, contacts=500, deals=50)
    hubspot.reset_stats()
    run = run_extract()
    assert run.state == "success"
    assert_mirror_equal(hubspot, warehouse)
    assert hubspot.stats()["byEndpoint"].get(SEARCH, 0) == 0
    assert task_summaries(warehouse, run.run_id)["extract_contacts"][1]["full_load"]["read_by_search"] == 0


def test_search_goes_to_the_type_with_the_most_ranges_left(warehouse):
    from hubspot_sync.extract.full_load import Batch, Chunk, record_landed, save_plan, search_turn
    from hubspot_sync.migrations import apply_migrations

    with psycopg.connect(warehouse, autocommit=True) as conn:
        apply_migrations(conn)
        save_plan(conn, "contacts", [Chunk(n * 100, (n + 1) * 100) for n in range(50)])
        save_plan(conn, "deals", [Chunk(n * 100, (n + 1) * 100) for n in range(20)])
        save_plan(conn, "companies", [Chunk(n * 100, (n + 1) * 100) for n in range(25)])
        assert search_turn(conn, "contacts")
        assert not search_turn(conn, "deals")  # 20 left against 50
        assert not search_turn(conn, "companies")  # 25: its list alone ends before the contacts'
        # The contacts list passes 40 ranges: 10 left, against 20 deals and 25 companies.
        record_landed(conn, "contacts", Batch([], from_list=True, list_read_to=3_999))
        assert search_turn(conn, "companies")
        assert not search_turn(conn, "deals")
        assert not search_turn(conn, "contacts")
        # As many left: they share.
        record_landed(conn, "companies", Batch([], from_list=True, list_read_to=499))
        assert search_turn(conn, "companies")
        assert search_turn(conn, "deals")
        # A type with nothing left has no turn.
        record_landed(conn, "deals", Batch([], from_list=True, list_read_to=10**6, list_complete=True))
        assert not search_turn(conn, "deals")
