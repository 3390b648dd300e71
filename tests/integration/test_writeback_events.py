"""The outbox trigger of the write-back's AssetWatcher: an event within seconds of a committed edit."""

import asyncio

import psycopg
import pytest

from hubspot_sync.extract import store
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.writeback import triggers
from hubspot_sync.writeback.events import OutboxNotifyTrigger

pytestmark = pytest.mark.integration


@pytest.fixture
def edited_table(warehouse):
    with psycopg.connect(warehouse, autocommit=True) as conn:
        apply_migrations(conn)
        store.ensure_columns(conn, "contacts", {"jobtitle": "string"})
        triggers.install(conn, "contacts", ["jobtitle"])
        conn.execute("INSERT INTO hubspot.contacts (id, updated_at, jobtitle) VALUES (1, now(), 'A')")
    return warehouse


def test_a_committed_edit_fires_one_event_per_burst(edited_table):
    trigger = OutboxNotifyTrigger(settle_seconds=0.3)
    classpath, kwargs = trigger.serialize()
    assert classpath == "hubspot_sync.writeback.events.OutboxNotifyTrigger"
    assert OutboxNotifyTrigger(**kwargs).serialize() == (classpath, kwargs)

    async def scenario():
        events = trigger.run()
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.5)  # listening by now
        assert not first.done()  # nothing edited yet: no event
        async with await psycopg.AsyncConnection.connect(edited_table, autocommit=True) as conn:
            for title in ("B", "C", "D"):  # three transactions, one burst
                await conn.execute("UPDATE hubspot.contacts SET jobtitle = %s WHERE id = 1", (title,))
        event = await asyncio.wait_for(first, timeout=5)
        second = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.6)
        assert not second.done()  # the burst was folded into the first event
        async with await psycopg.AsyncConnection.connect(edited_table, autocommit=True) as conn:
            await conn.execute("UPDATE hubspot.contacts SET jobtitle = 'E' WHERE id = 1")
        later = await asyncio.wait_for(second, timeout=5)
        await events.aclose()
        return event, later

    event, later = asyncio.run(scenario())
    assert event.payload == {"channel": "hubspot_sync_outbox", "tables": ["contacts"]}
    assert later.payload == event.payload


def test_an_edit_made_while_no_trigger_listened_fires_as_soon_as_one_does(edited_table):
    # The triggerer was down: the edit's NOTIFY reached no one, but the edit waits in the outbox.
    with psycopg.connect(edited_table, autocommit=True) as conn:
        conn.execute("UPDATE hubspot.contacts SET jobtitle = 'While down' WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM hubspot_sync.outbox WHERE status = 'pending'").fetchone()[0]

    async def first_event():
        events = OutboxNotifyTrigger(settle_seconds=0.3).run()
        try:
            return await asyncio.wait_for(anext(events), timeout=5)
        finally:
            await events.aclose()

    event = asyncio.run(first_event())
    assert event.payload == {"channel": "hubspot_sync_outbox", "tables": ["contacts"]}
