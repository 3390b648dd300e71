INSERT INTO hubspot_sync.reconcile_runs AS runs (
    run_id, object_type, dag_id, task_id, status, mode, compared_values, hubspot_records,
    warehouse_records, found, repaired, drift_share, api_calls, started_at, finished_at, seconds, note
) VALUES (
    %(run_id)s, %(object_type)s, %(dag_id)s, %(task_id)s, %(status)s, %(mode)s, %(compared_values)s,
    %(hubspot_records)s, %(warehouse_records)s, %(found)s, %(repaired)s, %(drift_share)s, %(api_calls)s,
    %(started_at)s, %(finished_at)s, %(seconds)s, %(note)s
)
ON CONFLICT (run_id, object_type) DO UPDATE SET
    task_id = EXCLUDED.task_id, status = EXCLUDED.status, mode = EXCLUDED.mode,
    compared_values = EXCLUDED.compared_values, hubspot_records = EXCLUDED.hubspot_records,
    warehouse_records = EXCLUDED.warehouse_records, found = EXCLUDED.found, repaired = EXCLUDED.repaired,
    drift_share = EXCLUDED.drift_share, api_calls = EXCLUDED.api_calls, started_at = EXCLUDED.started_at,
    finished_at = EXCLUDED.finished_at, seconds = EXCLUDED.seconds, note = EXCLUDED.note
