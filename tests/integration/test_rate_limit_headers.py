"""The rate budget sized from HubSpot's rate-limit headers when the connection names no tier.

HubSpot sends X-HubSpot-RateLimit-Max, -Interval-Milliseconds and -Daily on every non-search answer:
https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details#rate-limits
"""

from __future__ import annotations

import json

import psycopg
import pytest

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.hooks.rate_budget import TIER_LIMITS, Bucket
from hubspot_sync.migrations import apply_migrations

pytestmark = pytest.mark.integration
CALLS = 20


@pytest.mark.parametrize(
    ("tier", "extra", "limit"),
    [
        ("professional", {}, 190),  # learnt from the headers
        ("enterprise", {}, 190),
        ("professional", {"rate_limit_tier": "starter"}, TIER_LIMITS["starter"]),  # the connection rules
    ],
)
def test_the_budget_takes_the_limits_hubspot_reports(hubspot, warehouse, monkeypatch, tier, extra, limit):
    with psycopg.connect(warehouse, autocommit=True) as conn:
        apply_migrations(conn)
    connection = {"conn_type": "http", "host": hubspot.url, "password": hubspot.token, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
    hubspot.seed(contacts=10)
    hubspot.set_limits(tier=tier)
    hubspot.reset_stats()
    hook = HubSpotHook(budget_conn_factory=lambda: psycopg.connect(warehouse))
    try:
        for _ in range(CALLS):
            hook.get_properties("contacts")
        standard = hook.budget.buckets["standard"]
    finally:
        hook.close()
    expected = Bucket.for_limit(standard.name, limit, 10.0, 0.9)
    assert (standard.capacity, standard.rate) == (expected.capacity, expected.rate)
    assert hubspot.stats()["rateLimited"]["total"] == 0
    assert hook.daily_limit == hubspot.control("GET", "limits")["tiers"][tier]["daily_max"]
