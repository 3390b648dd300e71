-- The newest hubspot_reverse_etl runs, with their totals (last try of each model).
SELECT run_id, started_at, dry_run, models_succeeded, models_failed, models_running, records_changed,
       records_accepted, records_refused_by_hubspot, records_rejected, api_calls, rate_limited_calls
FROM hubspot_sync.reverse_etl_runs
ORDER BY started_at DESC
LIMIT %(limit)s
