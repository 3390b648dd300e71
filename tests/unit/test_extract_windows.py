"""Which window a run of hubspot_extract reads, by run type (scheduled, manual, backfill, `since`), and how
far it looks back."""

import time
from datetime import UTC, datetime
from types import SimpleNamespace

from hubspot_sandbox.search_index import DEFAULT_JITTER_MS, DEFAULT_LAG_MS
from hubspot_sync.config import DEFAULT_CONFIG_PATH, load_config
from hubspot_sync.extract.engine import ExtractRequest
from hubspot_sync.operators.extract import _since_ms, _window_end_ms
from hubspot_sync.values import epoch_ms

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
END = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


def context(run_type, **params):
    return {
        "dag_run": SimpleNamespace(run_type=run_type),
        "data_interval_start": START,
        "data_interval_end": END,
        "params": params,
    }


def test_scheduled_run_reads_from_the_cursor_to_its_interval_end():
    assert _window_end_ms(context("scheduled")) == epoch_ms(END)
    assert _since_ms(context("scheduled")) is None  # the stored cursor decides: no gap after downtime


def test_backfill_rereads_exactly_its_interval():
    assert _window_end_ms(context("backfill")) == epoch_ms(END)
    assert _since_ms(context("backfill")) == epoch_ms(START)


def test_manual_run_reads_up_to_now():
    before = int(time.time() * 1000)
    assert _window_end_ms(context("manual")) >= before


def test_since_param_overrides_the_cursor():
    assert _since_ms(context("manual", since="2026-02-01T00:00:00Z")) == epoch_ms(
        datetime(2026, 2, 1, tzinfo=UTC)
    )


def test_run_type_enums_of_any_kind_are_understood():
    class RunType:  # stands for the execution API's enum, whose str() is not its value
        value = "BACKFILL"

    assert _since_ms(context(RunType())) == epoch_ms(START)


def test_the_lookback_outlasts_the_search_index_lag():
    # A record written just before a run can be missing from search (the index lags by seconds, the
    # sandbox by its default lag plus jitter): the next run's window must still reach back to it.
    longest_lag_ms = DEFAULT_LAG_MS + DEFAULT_JITTER_MS
    shipped = load_config(DEFAULT_CONFIG_PATH).thresholds.search_lookback_minutes * 60_000
    assert shipped > 10 * longest_lag_ms
    assert ExtractRequest("contacts", window_end_ms=0).lookback_ms > 10 * longest_lag_ms
