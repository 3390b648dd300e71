-- Records (or fields) one task refused in the last 7 days, with the reason.
SELECT rejected_at, run_id, object_type, record_id, field, reason
FROM hubspot_sync.rejects
WHERE dag_id = {dag_id} AND task_id = {task_id}
  AND rejected_at >= now() - interval '7 days'
ORDER BY rejected_at DESC
