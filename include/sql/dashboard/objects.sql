-- Per extracted object type: the newest try of its task, its last success, and the stored cursor
-- (everything HubSpot changed before cursor_ms is in the warehouse).
SELECT o.object_type,
       success.finished_at AS last_success_at,
       last.status AS last_status,
       last.started_at AS last_started_at,
       last.run_id AS last_run_id,
       c.cursor_ms
FROM unnest(%(object_types)s::text[]) AS o(object_type)
LEFT JOIN hubspot_sync.cursors c ON c.object_type = o.object_type
LEFT JOIN LATERAL (
    SELECT max(r.finished_at) AS finished_at
    FROM hubspot_sync.run_metrics r
    WHERE r.dag_id = 'hubspot_extract' AND r.task_id = 'extract_' || o.object_type AND r.status = 'success'
) success ON true
LEFT JOIN LATERAL (
    SELECT r.status, r.started_at, r.run_id
    FROM hubspot_sync.run_metrics r
    WHERE r.dag_id = 'hubspot_extract' AND r.task_id = 'extract_' || o.object_type
    ORDER BY r.started_at DESC
    LIMIT 1
) last ON true
