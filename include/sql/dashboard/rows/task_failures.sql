-- Tries of one task that failed or were abandoned (killed) in the last 7 days.
SELECT dag_id, run_id, task_id, try_number, status, started_at, finished_at, details
FROM hubspot_sync.run_metrics
WHERE dag_id = {dag_id} AND task_id = {task_id}
  AND status IN ('failed', 'abandoned')
  AND started_at >= now() - interval '7 days'
ORDER BY started_at DESC
