-- One row per task try and object (or model); a rerun of the same try overwrites its row.
INSERT INTO hubspot_sync.run_metrics (
    dag_id, run_id, task_id, try_number, object_type, started_at, finished_at, status,
    records_read, records_written, records_rejected, api_calls, rate_limited_calls, details
) VALUES (
    %(dag_id)s, %(run_id)s, %(task_id)s, %(try_number)s, %(object_type)s, %(started_at)s, %(finished_at)s,
    %(status)s, %(records_read)s, %(records_written)s, %(records_rejected)s, %(api_calls)s,
    %(rate_limited_calls)s, %(details)s
)
ON CONFLICT (dag_id, run_id, task_id, try_number) DO UPDATE SET
    object_type = EXCLUDED.object_type,
    finished_at = EXCLUDED.finished_at,
    status = EXCLUDED.status,
    records_read = EXCLUDED.records_read,
    records_written = EXCLUDED.records_written,
    records_rejected = EXCLUDED.records_rejected,
    api_calls = EXCLUDED.api_calls,
    rate_limited_calls = EXCLUDED.rate_limited_calls,
    details = EXCLUDED.details
