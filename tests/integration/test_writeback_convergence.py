"""Two-way convergence: rounds of random edits on both sides, interleaved with extraction and write-back.

Each round: people edit in HubSpot (CRM_UI, through the sandbox's control API), then in PostgreSQL, then
in HubSpot again, so a field edited on both sides in one round is a conflict whose last writer is known.
Rounds end with extraction then write-back, and the other way round, in turn. At the end both sides
hold, in every two-way field, the value its rule picks; every conflict is recorded once; and further
settled cycles make no write call.
"""

import random
import time
from collections import Counter

import pytest

from hubspot_sandbox.property_catalog import DEAL_STAGES, LIFECYCLE_STAGES
from tests.integration.writeback_support import (
    execute,
    hubspot_values,
    hubspot_write,
    run_dag,
    warehouse_values,
    write_calls,
)

pytestmark = pytest.mark.integration
ROUNDS = 3
# (object type, field, rule as shipped in include/config/sync.yaml)
FIELDS = [
    ("contacts", "jobtitle", "last_write_wins"),
    ("contacts", "lifecyclestage", "hubspot_wins"),
    ("deals", "dealstage", "postgres_wins"),
]
OPTIONS = {"lifecyclestage": LIFECYCLE_STAGES, "dealstage": DEAL_STAGES}


def fresh_value(field, current, taken, rng, label):
    if field not in OPTIONS:
        return f"{label}-{rng.randrange(10**6)}"
    return rng.choice([option for option in OPTIONS[field] if option != current and option not in taken])


def test_edits_on_both_sides_converge_by_rule_without_loops(airflow_db, hubspot, warehouse, sync_config):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=2, contacts=16, deals=10, associations=False)
    run_dag("hubspot_extract")
    rng = random.Random(20261129)
    ids = {
        object_type: [
            row[0] for row in execute(warehouse, f"SELECT id FROM hubspot.{object_type} ORDER BY id")
        ]
        for object_type in ("contacts", "deals")
    }
    expected: dict[tuple[str, int, str], str | None] = {}
    for object_type, field, _ in FIELDS:
        current = warehouse_values(warehouse, object_type, ids[object_type], [field])
        for record_id in ids[object_type]:
            expected[(object_type, record_id, field)] = current[record_id][field]
    conflicts: Counter[tuple[str, int, str, str]] = Counter()  # one per conflict, rounds apart

    for round_number in range(ROUNDS):
        # (object type, id, field, rule, who edits): hs_before, pg, both_before or both_after
        plan = []
        for object_type, field, rule in FIELDS:
            for record_id in rng.sample(ids[object_type], 6):
                who = rng.choice(["hs_before", "pg", "pg", "both_before", "both_after"])
                plan.append((object_type, record_id, field, rule, who))
        written: dict[tuple[str, int, str], dict[str, str]] = {}
        for phase in ("before", "pg", "after"):
            for object_type, record_id, field, _, who in plan:
                key = (object_type, record_id, field)
                sides = written.setdefault(key, {})
                if phase == "pg" and who in ("pg", "both_before", "both_after"):
                    value = fresh_value(field, expected[key], sides.values(), rng, f"pg{round_number}")
                    execute(
                        warehouse,
                        f"UPDATE hubspot.{object_type} SET {field} = %s WHERE id = %s",
                        (value, record_id),
                    )
                    sides["pg"] = value
                elif phase != "pg" and who in (f"hs_{phase}", f"both_{phase}"):
                    value = fresh_value(field, expected[key], sides.values(), rng, f"hs{round_number}")
                    hubspot_write(hubspot, object_type, record_id, {field: value})
                    sides["hs"] = value
            time.sleep(0.02)  # distinct moments for last_write_wins
        for object_type, record_id, field, rule, who in plan:
            key = (object_type, record_id, field)
            sides = written[key]
            if "pg" in sides and ("hs" in sides or rule == "hubspot_wins"):
                # A conflict; under hubspot_wins every PostgreSQL edit is reverted and recorded as one.
                winner = {"hubspot_wins": "hubspot", "postgres_wins": "postgres"}.get(rule)
                winner = winner or ("hubspot" if who == "both_after" else "postgres")
                conflicts[(object_type, record_id, field, winner)] += 1
                if winner == "postgres":
                    expected[key] = sides["pg"]
                elif "hs" in sides:
                    expected[key] = sides["hs"]
            else:
                expected[key] = sides.get("pg", sides.get("hs"))
        # Extraction first lands HubSpot's values over pending PostgreSQL edits: both orders occur.
        order = ["hubspot_extract", "hubspot_writeback"]
        for dag_id in order if round_number % 2 == 0 else reversed(order):
            run_dag(dag_id)

    run_dag("hubspot_writeback")
    run_dag("hubspot_extract")
    for object_type, field, _ in FIELDS:
        want = {record_id: expected[(object_type, record_id, field)] for record_id in ids[object_type]}
        in_hubspot = hubspot_values(hubspot, object_type, ids[object_type], [field])
        in_warehouse = warehouse_values(warehouse, object_type, ids[object_type], [field])
        assert {i: v[field] for i, v in in_hubspot.items()} == want, field
        assert {i: v[field] for i, v in in_warehouse.items()} == want, field
    recorded = execute(warehouse, "SELECT object_type, record_id, field, winner FROM hubspot_sync.conflicts")
    assert Counter(recorded) == conflicts  # each conflict recorded, and once
    assert conflicts.total() >= 6
    assert execute(
        warehouse, "SELECT count(*) FROM hubspot_sync.outbox WHERE status IN ('pending', 'failed')"
    ) == [(0,)]

    hubspot.reset_stats()
    for _ in range(2):
        run_dag("hubspot_extract")
        run_dag("hubspot_writeback")
    assert write_calls(hubspot) == 0
