"""The demo's two-way step: an edit each way and one conflict, each read back from the other side."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

LIFECYCLE = ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")


def two_way_demo(pg_url: str, hubspot_url: str, token: str, run_dag: Callable[[str, str], bool]) -> bool:
    """Edit in PostgreSQL, edit in HubSpot (as a person, CRM_UI), and both on one field; then
    `hubspot_writeback` and `hubspot_extract`; print what each side holds. `run_dag(dag_id, log_name)`."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, lifecyclestage FROM hubspot.contacts WHERE NOT archived ORDER BY id OFFSET 10 LIMIT 3"
        ).fetchall()
        if len(rows) < 3:
            print("  not enough contacts for the two-way demo")
            return False
        (pg_edited, _), (hubspot_edited, _), (both, stage) = rows
        pg_stage, hubspot_stage = [option for option in LIFECYCLE if option != stage][:2]
        conn.execute("SET application_name = 'make-demo'")
        conn.execute(
            "UPDATE hubspot.contacts SET jobtitle = 'Edited in PostgreSQL' WHERE id = %s", (pg_edited,)
        )
        conn.execute("UPDATE hubspot.contacts SET lifecyclestage = %s WHERE id = %s", (pg_stage, both))
    time.sleep(0.1)  # the HubSpot edits come later: the conflict's last writer is HubSpot
    _sandbox_write(hubspot_url, hubspot_edited, {"jobtitle": "Edited in HubSpot"})
    _sandbox_write(hubspot_url, both, {"lifecyclestage": hubspot_stage})
    print(
        f"  edited contact {pg_edited} in PostgreSQL, contact {hubspot_edited} in HubSpot, and the "
        f"lifecyclestage of contact {both} on both sides",
        flush=True,
    )
    ok = run_dag("hubspot_writeback", "hubspot_writeback") and run_dag("hubspot_extract", "hubspot_extract-2")
    if not ok:
        return False
    with psycopg.connect(pg_url) as conn:
        values = dict(
            conn.execute(
                "SELECT id, jobtitle FROM hubspot.contacts WHERE id = ANY(%s)", ([pg_edited, hubspot_edited],)
            ).fetchall()
        )
        conflict = conn.execute(
            "SELECT field, postgres_value #>> '{}', hubspot_value, winner, rule FROM hubspot_sync.conflicts "
            "WHERE object_type = 'contacts' AND record_id = %s ORDER BY id DESC LIMIT 1",
            (both,),
        ).fetchone()
        now = conn.execute("SELECT lifecyclestage FROM hubspot.contacts WHERE id = %s", (both,)).fetchone()[0]
    print("\nTwo-way fields (hubspot_writeback):")
    in_hubspot = _read(hubspot_url, token, pg_edited, "jobtitle")
    print(f"  PostgreSQL -> HubSpot: contact {pg_edited} jobtitle in HubSpot: {in_hubspot!r}")
    in_postgres = values.get(hubspot_edited)
    print(f"  HubSpot -> PostgreSQL: contact {hubspot_edited} jobtitle in PostgreSQL: {in_postgres!r}")
    if conflict:
        field, pg_value, hubspot_value, winner, rule = conflict
        print(
            f"  conflict on contact {both} {field}: PostgreSQL {pg_value!r}, HubSpot {hubspot_value!r}; "
            f"{rule} -> {winner} wins; both sides now {now!r} / {_read(hubspot_url, token, both, field)!r} "
            "(hubspot_sync.conflicts)"
        )
    return True


def _sandbox_write(hubspot_url: str, record_id: int, properties: dict) -> None:
    body = {"objectType": "contacts", "id": str(record_id), "properties": properties, "userId": 1}
    request = urllib.request.Request(  # noqa: S310 - the local sandbox's control API
        f"{hubspot_url}/_sandbox/write",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def _read(hubspot_url: str, token: str, record_id: int, name: str) -> str | None:
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        f"{hubspot_url}/crm/v3/objects/contacts/{record_id}?properties={name}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)["properties"].get(name)
