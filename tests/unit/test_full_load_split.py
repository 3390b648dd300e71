"""The split full load's parts on their own: the id-range plan, list meeting search, the pipeline."""

import threading
from itertools import pairwise

import pytest

from hubspot_sync.extract.full_load import Batch, Chunk, Frontier, Pipeline, plan_chunks, search_fits


class FakeSearch:
    """Answers the plan's two searches from a list of ids, as CRM search would."""

    def __init__(self, ids):
        self.ids = sorted(ids)
        self.bodies = []

    def search(self, object_type, body):
        self.bodies.append(body)
        descending = body["sorts"][0]["direction"] == "DESCENDING"
        ordered = list(reversed(self.ids)) if descending else self.ids
        return {"total": len(self.ids), "results": [{"id": str(i)} for i in ordered[: body["limit"]]]}


def covered(chunks):
    return [(c.low_id, c.high_id) for c in chunks]


def test_plan_cuts_the_id_range_into_chunks_from_the_top_that_cover_every_id():
    ids = list(range(1001, 21001))
    total, chunks = plan_chunks(FakeSearch(ids), "contacts", min_records=10_000, records_per_chunk=2000)
    assert total == 20_000
    assert chunks[0].high_id is None  # the top chunk is open: records created since the plan land too
    assert chunks[-1].low_id == 1001
    assert all(upper.low_id == lower.high_id for upper, lower in pairwise(chunks))
    assert len(chunks) == 10
    for record_id in (1001, 5000, 20_999, 21_000):
        assert (
            sum(c.low_id <= record_id and (c.high_id is None or record_id < c.high_id) for c in chunks) == 1
        )


def test_plan_leaves_small_types_and_empty_search_to_the_list():
    search = FakeSearch(range(1, 500))
    assert plan_chunks(search, "contacts", min_records=1000, records_per_chunk=100) == (499, [])
    assert len(search.bodies) == 1  # the count alone decided it
    assert plan_chunks(FakeSearch([]), "contacts", min_records=1, records_per_chunk=100) == (0, [])


def test_the_list_stops_once_it_passes_the_lowest_chunk_search_took():
    chunks = [Chunk(3000, None), Chunk(2000, 3000), Chunk(1000, 2000)]
    frontier = Frontier(chunks, list_running=True)
    assert frontier.take() == Chunk(3000, None)
    assert frontier.list_read(list(range(1, 101))) == (True, True)
    assert frontier.take() == Chunk(2000, 3000)
    # Ids up to 1999 read by the list: chunk [1000, 2000) is the list's, never search's.
    assert frontier.list_read(list(range(1900, 2000))) == (True, True)
    assert frontier.take() is None
    assert frontier.list_read([2000, 2001]) == (False, True)  # inside the lowest chunk taken: stop
    assert frontier.take() is None  # what is left below it, the list has read


def test_once_the_list_stops_search_takes_no_chunk_it_read():
    frontier = Frontier([Chunk(3000, None), Chunk(2000, 3000), Chunk(1000, 2000)], list_running=True)
    assert frontier.take() == Chunk(3000, None)
    assert frontier.list_read([1500]) == (True, True)
    assert frontier.list_read([3000]) == (False, True)
    assert frontier.take() is None


def test_a_chunk_the_list_only_partly_read_is_still_taken():
    frontier = Frontier([Chunk(2000, None), Chunk(1000, 2000)], list_running=True)
    frontier.list_read([1500])
    assert frontier.take() == Chunk(2000, None)
    assert frontier.take() == Chunk(1000, 2000)  # ids 1501-1999 are not read yet
    assert frontier.list_read([1600]) == (False, True)


def test_a_list_out_of_id_order_reads_to_its_end_and_search_stops():
    frontier = Frontier([Chunk(2000, None), Chunk(1000, 2000)], list_running=True)
    assert frontier.take() == Chunk(2000, None)
    assert frontier.list_read([5, 9, 7]) == (True, False)
    assert frontier.take() is None
    assert frontier.list_read([2500, 2600]) == (True, False)  # past the chunk taken, yet it goes on


def test_resumed_search_without_the_list_takes_every_chunk_left():
    chunks = [Chunk(2000, None), Chunk(1000, 2000)]
    frontier = Frontier(chunks, list_running=False)
    assert [frontier.take(), frontier.take(), frontier.take()] == [*chunks, None]


def test_chunk_filters_page_by_id_inside_the_chunk():
    assert Chunk(1000, 2000).filters(999) == [
        {"propertyName": "hs_object_id", "operator": "GT", "value": "999"},
        {"propertyName": "hs_object_id", "operator": "LT", "value": "2000"},
    ]
    assert Chunk(1000, None).filters(1500) == [
        {"propertyName": "hs_object_id", "operator": "GT", "value": "1500"}
    ]


def test_search_bodies_past_the_size_cap_ask_for_ids_only():
    assert search_fits(["email", "firstname"])
    assert not search_fits([f"custom_property_{n:04d}" for n in range(200)])


def test_pipeline_hands_over_every_batch_then_ends():
    def reader(name):
        def read(put):
            for n in range(50):
                put(Batch([{"id": f"{name}{n}"}]))

        return read

    pipeline = Pipeline([reader("a"), reader("b"), reader("c")], depth=2)
    got = [batch.records[0]["id"] for batch in pipeline.batches()]
    pipeline.close()
    assert sorted(got) == sorted(f"{name}{n}" for name in "abc" for n in range(50))


def test_a_reader_error_stops_the_others_and_reaches_the_caller():
    stopped = threading.Event()

    def failing(put):
        put(Batch([{"id": "1"}]))
        raise RuntimeError("HubSpot said no")

    def endless(put):
        try:
            while True:
                put(Batch([{"id": "2"}]))
        finally:
            stopped.set()

    pipeline = Pipeline([failing, endless], depth=1)
    with pytest.raises(RuntimeError, match="HubSpot said no"):
        for _ in pipeline.batches():
            pass
    pipeline.close()
    assert stopped.wait(5)


def test_close_stops_readers_when_the_caller_fails():
    stopped = threading.Event()

    def endless(put):
        try:
            while True:
                put(Batch([]))
        finally:
            stopped.set()

    pipeline = Pipeline([endless], depth=1)
    batches = pipeline.batches()
    next(batches)  # the caller fails here, landing its first batch
    pipeline.close()
    assert stopped.wait(5)


def test_readers_not_at_once_run_one_after_another():
    running, overlaps = [], []

    def reader(name):
        def read(put):
            running.append(name)
            overlaps.append(len(running))
            for n in range(5):
                put(Batch([{"id": f"{name}{n}"}]))
            running.remove(name)

        return read

    pipeline = Pipeline([reader("a"), reader("b")], depth=1, at_once=False)
    got = [batch.records[0]["id"] for batch in pipeline.batches()]
    pipeline.close()
    assert got == [f"a{n}" for n in range(5)] + [f"b{n}" for n in range(5)]
    assert overlaps == [1, 1]
