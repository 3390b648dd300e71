"""Write-back with calls in flight at once, against the sandbox over HTTP and a real PostgreSQL.

Each scenario runs on two disjoint sets of mirrored contacts: one pushed a call at a time, the other with
four in flight, and both must end alike (outbox, mirror rows, HubSpot, conflicts), record ids aside.
Overlap is read from the sandbox's side (server_log.py).
"""

from __future__ import annotations

import math
import time

import psycopg
import pytest

from hubspot_sync.config import load_config
from hubspot_sync.extract.engine import ExtractRequest, ObjectExtractor
from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotUnavailableError
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.run_metrics import RunInfo
from hubspot_sync.writeback.engine import ObjectWriteback, WritebackRequest
from tests.connections import GENEROUS, use_sandbox
from tests.integration.server_log import ServerLog
from tests.integration.writeback_support import execute, hubspot_values, hubspot_write

pytestmark = pytest.mark.integration

UPDATE = "POST /crm/v3/objects/{objectType}/batch/update"
READ = "POST /crm/v3/objects/{objectType}/batch/read"
CONTACTS = load_config().objects["contacts"]
REQUEST = WritebackRequest("contacts", CONTACTS.two_way.rules(), dict(CONTACTS.properties))
IN_FLIGHT = 4


def connect(monkeypatch: pytest.MonkeyPatch, hubspot, **extra) -> None:
    use_sandbox(monkeypatch, hubspot, **GENEROUS, **extra)


@pytest.fixture
def contacts(hubspot, warehouse, monkeypatch) -> list[int]:
    """1,000 contacts mirrored in PostgreSQL, capture triggers installed; their ids in order."""
    connect(monkeypatch, hubspot)
    hubspot.seed(contacts=1_000, associations=False)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        apply_migrations(conn)
        extract = ObjectExtractor(HubSpotHook(), conn, CONTACTS, RunInfo("hubspot_extract", "x", "contacts"))
        extract.run(ExtractRequest("contacts", window_end_ms=int(time.time() * 1000)))
    return [row[0] for row in execute(warehouse, "SELECT id FROM hubspot.contacts ORDER BY id")]


@pytest.fixture
def server_log(hubspot, monkeypatch) -> ServerLog:
    return ServerLog(hubspot, monkeypatch)


def push(url: str, run_id: str, requests_in_flight: int) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        hook = HubSpotHook(budget_conn_factory=lambda: psycopg.connect(url))
        try:
            run = RunInfo("hubspot_writeback", run_id, "push_contacts")
            return ObjectWriteback(hook, conn, REQUEST, run, requests_in_flight=requests_in_flight).run()
        finally:
            hook.close()


def edit_titles(url: str, ids: list[int]) -> None:
    execute(url, "UPDATE hubspot.contacts SET jobtitle = 'Title ' || id WHERE id = ANY(%s)", (ids,))


def end_state(url: str, hubspot, ids: list[int]) -> dict:
    """Both sides of each record, by its place in `ids`, values naming a record by that place too."""
    place = {record_id: n for n, record_id in enumerate(ids)}

    def named(value):
        if isinstance(value, str) and value.startswith("Title "):
            return f"Title #{place.get(int(value.split()[1]), value)}"
        return value

    outbox = execute(
        url,
        "SELECT record_id, status, error_category, sent_value IS NOT NULL FROM hubspot_sync.outbox "
        "WHERE record_id = ANY(%s) AND field = 'jobtitle'",
        (ids,),
    )
    rows = execute(url, "SELECT id, jobtitle FROM hubspot.contacts WHERE id = ANY(%s)", (ids,))
    conflicts = execute(
        url,
        "SELECT record_id, postgres_value #>> '{}', hubspot_value, winner FROM hubspot_sync.conflicts "
        "WHERE record_id = ANY(%s)",
        (ids,),
    )
    remote = hubspot_values(hubspot, "contacts", ids, ["jobtitle"])
    return {
        "outbox": sorted((place[i], *rest) for i, *rest in outbox),
        "rows": sorted((place[i], named(title)) for i, title in rows),
        "conflicts": sorted(
            (place[i], named(ours), named(theirs), winner) for i, ours, theirs, winner in conflicts
        ),
        # A merged-away id answers with its survivor's id: kept apart by the caller.
        "hubspot": sorted(
            (place[i], named(values["jobtitle"])) for i, values in remote.items() if i in place
        ),
    }


def test_four_calls_in_flight_end_exactly_as_one_and_overlap_in_the_sandbox(
    contacts, hubspot, warehouse, server_log
):
    # 450 edits (five chunks of 100), some met by a HubSpot edit made after them (HubSpot wins under
    # last_write_wins) or before them (PostgreSQL wins).
    twins = {1: contacts[:450], IN_FLIGHT: contacts[500:950]}
    ends, counts, most_at_once = {}, {}, {}
    for in_flight, ids in twins.items():
        for record_id in ids[::11]:
            hubspot_write(hubspot, "contacts", record_id, {"jobtitle": "Edited in HubSpot first"})
        edit_titles(warehouse, ids)
        for record_id in ids[3::7]:
            hubspot_write(hubspot, "contacts", record_id, {"jobtitle": "Edited in HubSpot after"})
        hubspot.set_faults({"latencyMs": 60, "endpoints": [UPDATE, READ]})
        server_log.clear()
        hubspot.reset_stats()
        counts[in_flight] = push(warehouse, f"run_{in_flight}", in_flight)
        most_at_once[in_flight] = {
            endpoints: server_log.most_at_once(*endpoints)
            for endpoints in ((READ,), (UPDATE,), (READ, UPDATE))
        }
        hubspot.clear_faults()
        ends[in_flight] = end_state(warehouse, hubspot, ids)

    assert counts[1] == counts[IN_FLIGHT]
    assert (counts[1]["update_calls"], counts[1]["read_calls"]) == (5, 9)
    assert ends[1] == ends[IN_FLIGHT]
    statuses = {status for _, status, _, _ in ends[1]["outbox"]}
    assert statuses == {"synced", "reverted"}
    assert {winner for *_, winner in ends[1]["conflicts"]} == {"postgres", "hubspot"}
    assert set(most_at_once[1].values()) == {1}
    assert all(2 <= most <= IN_FLIGHT for most in most_at_once[IN_FLIGHT].values())  # reads, updates, both


def test_edits_of_two_merged_records_in_different_chunks_are_decided_in_order(contacts, hubspot, warehouse):
    # Two ids 110 apart (different chunks of 100) merged into one record: the second chunk must read
    # what the first wrote, as it does when the chunks go one at a time.
    twins = {1: contacts[:150], IN_FLIGHT: contacts[500:650]}
    ends, counts, survivors = {}, {}, {}
    for in_flight, ids in twins.items():
        edit_titles(warehouse, ids)
        with hubspot.http() as http:
            merged = http.post(
                "/crm/v3/objects/contacts/merge",
                json={"primaryObjectId": str(ids[10]), "objectIdToMerge": str(ids[120])},
            )
            merged.raise_for_status()
        survivor = int(merged.json()["id"])
        counts[in_flight] = push(warehouse, f"run_{in_flight}", in_flight)
        ends[in_flight] = end_state(warehouse, hubspot, ids)
        survivors[in_flight] = hubspot_values(hubspot, "contacts", [survivor], ["jobtitle"])[survivor]

    for in_flight, ids in twins.items():
        assert survivors[in_flight] == {"jobtitle": f"Title {ids[10]}"}
        rows = dict(ends[in_flight]["rows"])
        assert rows[120] == "Title #10"  # HubSpot's newer value, written by the first chunk, won
    assert ends[1] == ends[IN_FLIGHT]
    # With four in flight both chunks were read at once; the second (50 ids, one read) was read again
    # once the first had written.
    assert counts[IN_FLIGHT]["read_calls"] == counts[1]["read_calls"] + 1
    assert {key: n for key, n in counts[IN_FLIGHT].items() if key != "read_calls"} == {
        key: n for key, n in counts[1].items() if key != "read_calls"
    }


def test_an_update_failing_for_good_leaves_answered_chunks_settled_and_the_rerun_sends_the_rest(
    contacts, hubspot, warehouse, monkeypatch
):
    connect(monkeypatch, hubspot, max_attempts=1)  # a 503 fails its chunk for good
    ids = contacts[:450]
    edit_titles(warehouse, ids)
    # The 3rd update to arrive fails at once; the others take long enough to be in flight beside it.
    hubspot.set_faults(
        {"latencyMs": 80, "endpoints": [UPDATE], "script": [{"endpoint": UPDATE, "call": 3, "fault": 503}]}
    )

    with pytest.raises(HubSpotUnavailableError, match=r"HTTP 503"):
        push(warehouse, "run_1", IN_FLIGHT)

    answered = hubspot.stats()["byEndpoint"][UPDATE] - 1
    assert answered >= 2
    holding = {
        i
        for i, values in hubspot_values(hubspot, "contacts", ids, ["jobtitle"]).items()
        if values["jobtitle"] == f"Title {i}"
    }
    synced = {
        i
        for (i,) in execute(
            warehouse,
            "SELECT record_id FROM hubspot_sync.outbox WHERE field = 'jobtitle' AND status = 'synced'",
        )
    }
    assert synced == holding  # every chunk HubSpot answered is settled, and only those
    assert len(holding) == 100 * answered or (len(holding) - 50) == 100 * (answered - 1)

    hubspot.clear_faults()
    hubspot.reset_stats()
    counts = push(warehouse, "run_2", IN_FLIGHT)

    left = len(ids) - len(synced)
    assert hubspot.stats()["byEndpoint"][UPDATE] == math.ceil(left / 100)
    assert counts["entries_synced"] == left
    assert hubspot_values(hubspot, "contacts", ids, ["jobtitle"]) == {
        i: {"jobtitle": f"Title {i}"} for i in ids
    }
    assert execute(warehouse, "SELECT count(*) FROM hubspot_sync.outbox WHERE status <> 'synced'") == [(0,)]
