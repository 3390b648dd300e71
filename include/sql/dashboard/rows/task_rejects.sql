-- Records (or fields) one task refused in the last 7 days, with the reason and how often (since first seen).
SELECT last_seen_at, rejected_at AS first_seen_at, count, run_id, object_type, record_id, field, reason
FROM hubspot_sync.rejects
WHERE dag_id = {dag_id} AND task_id = {task_id}
  AND last_seen_at >= now() - interval '7 days'
ORDER BY last_seen_at DESC
