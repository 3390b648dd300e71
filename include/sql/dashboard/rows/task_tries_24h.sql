-- Tries of one task started in the last 24 hours, with the API calls and 429s each made.
SELECT run_id, try_number, status, started_at, api_calls, rate_limited_calls
FROM hubspot_sync.run_metrics
WHERE dag_id = {dag_id} AND task_id = {task_id}
  AND started_at >= now() - interval '24 hours'
ORDER BY started_at DESC
