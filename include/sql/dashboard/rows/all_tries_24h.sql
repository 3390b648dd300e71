-- Every task try started in the last 24 hours, with the API calls and 429s each made.
SELECT dag_id, run_id, task_id, try_number, status, started_at, api_calls, rate_limited_calls
FROM hubspot_sync.run_metrics
WHERE started_at >= now() - interval '24 hours'
ORDER BY started_at DESC
