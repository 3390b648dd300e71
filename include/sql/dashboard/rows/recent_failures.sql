-- Every task try that failed or was abandoned in the last 7 days.
SELECT dag_id, run_id, task_id, try_number, object_type, status, started_at, finished_at
FROM hubspot_sync.run_metrics
WHERE status IN ('failed', 'abandoned')
  AND started_at >= now() - interval '7 days'
ORDER BY started_at DESC
