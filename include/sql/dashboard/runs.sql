-- The newest task tries per extracted object type, oldest first: the volume chart's points.
SELECT object_type, run_id, try_number, started_at, status,
       records_read, records_written, records_rejected, api_calls, rate_limited_calls
FROM (
    SELECT r.*, row_number() OVER (PARTITION BY r.task_id ORDER BY r.started_at DESC) AS newest
    FROM hubspot_sync.run_metrics r
    WHERE r.dag_id = 'hubspot_extract' AND r.task_id = 'extract_' || r.object_type
      AND r.object_type = ANY(%(object_types)s::text[])
) tries
WHERE newest <= %(limit)s
ORDER BY object_type, started_at
