"""Token-bucket sizing: no rolling window may ever exceed HubSpot's limit, whatever the share."""

import pytest

from hubspot_sync.hooks.rate_budget import (
    DELIVERY_JITTER_SECONDS,
    SEARCH_LIMIT_PER_SECOND,
    STANDARD_WINDOW_SECONDS,
    TIER_LIMITS,
    Bucket,
    Slots,
)


@pytest.mark.parametrize("share", [0.5, 0.8, 0.9, 0.95, 1.0])
@pytest.mark.parametrize(
    ("limit", "window"),
    [
        *((limit, STANDARD_WINDOW_SECONDS) for limit in sorted(set(TIER_LIMITS.values()))),
        (250, 10.0),  # the API limit increase add-on
    ],
)
def test_a_full_bucket_plus_a_window_of_refill_stays_within_the_limit(limit, window, share):
    bucket = Bucket.for_limit("b", limit, window, share)
    assert bucket.capacity >= 1
    # Requests that reach HubSpot late crowd into its window: it spans a little more at the bucket.
    assert bucket.capacity + bucket.rate * (window + DELIVERY_JITTER_SECONDS) <= limit + 1e-9
    assert bucket.rate * window <= share * limit + 1e-9


@pytest.mark.parametrize(("tier", "capacity", "per_window"), [("professional", 9, 171), ("starter", 5, 90)])
def test_default_share_uses_ninety_percent_of_the_burst_window(tier, capacity, per_window):
    bucket = Bucket.for_limit("b", TIER_LIMITS[tier], STANDARD_WINDOW_SECONDS, 0.9)
    assert bucket.capacity == capacity
    assert bucket.rate * STANDARD_WINDOW_SECONDS == pytest.approx(per_window)


def test_search_keeps_five_slots_whose_window_the_share_stretches():
    slots = Slots.for_limit("s", SEARCH_LIMIT_PER_SECOND, 1.0, 0.9)
    assert slots.count == 5
    assert slots.window_seconds == pytest.approx(1 / 0.9)  # 4.5 a second at most, before latency
