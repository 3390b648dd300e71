"""ChangedRecords against the sandbox over HTTP: exactly once, past the 10,000 cap, through ties and churn."""

import collections
import time

import pytest

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.search_paging import ChangedRecords

pytestmark = pytest.mark.integration
LAST_MODIFIED = "lastmodifieddate"


def pager(hook, start_ms, end_ms, search=None):
    return ChangedRecords(
        search=search or (lambda request: hook.search("contacts", request)),
        last_modified_property=LAST_MODIFIED,
        start_ms=start_ms,
        end_ms=end_ms,
        properties=[LAST_MODIFIED, "email"],
    )


def yielded_ids(changed: ChangedRecords) -> collections.Counter:
    return collections.Counter(int(record["id"]) for page in changed.pages() for record in page)


def test_25000_records_sharing_one_millisecond_are_read_once_each(hubspot):
    hubspot.seed(contacts=27_000)
    stamp = int(time.time() * 1000) - 60_000
    touched = hubspot.bulk_touch("contacts", count=25_000, timestampMs=stamp)
    hubspot.bulk_touch(
        "contacts",
        ids=[str(i) for i in range(int(touched["lastId"]) + 1, int(touched["lastId"]) + 501)],
        timestampMs=stamp + 5,
    )
    hook = HubSpotHook()
    changed = pager(hook, stamp - 1_000, stamp + 1_000)
    counts = yielded_ids(changed)
    assert len(counts) == 25_500
    assert set(counts.values()) == {1}
    # Near the minimum of ceil(25,500 / 200) = 128 requests: each tie is read by id once it spans
    # two pages, re-reading those two pages (their order inside a millisecond is not guaranteed).
    assert changed.stats.requests <= 128 + 2 * 3


def test_window_larger_than_the_search_cap_is_read_once_each(hubspot):
    hubspot.seed(contacts=12_000)
    hook = HubSpotHook()
    changed = pager(hook, 0, int(time.time() * 1000))
    counts = yielded_ids(changed)
    assert len(counts) == 12_000
    assert set(counts.values()) == {1}
    assert changed.stats.restarts >= 1
    assert changed.stats.requests <= 60 + 2


def test_records_modified_while_the_window_is_read_are_not_skipped(hubspot):
    hubspot.seed(contacts=3_000)
    hook = HubSpotHook()
    end_ms = int(time.time() * 1000)
    all_ids = sorted(int(i) for i in hubspot.sandbox.tables["contacts"].live)
    calls = {"count": 0}

    def churning_search(request):
        # Between pages, records already read are modified: they leave the window (their new
        # last-modified is after its end) and every later record shifts under offset paging.
        calls["count"] += 1
        if calls["count"] in (3, 6, 9):
            with hubspot.http() as http:
                inputs = [
                    {"id": str(i), "properties": {"jobtitle": f"moved {calls['count']}"}} for i in read[-50:]
                ]
                http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
        return hook.search("contacts", request)

    read: list[int] = []
    changed = pager(hook, 0, end_ms, search=churning_search)
    for page in changed.pages():
        read.extend(int(record["id"]) for record in page)
    assert sorted(set(read)) == all_ids
    assert len(read) == len(all_ids)
