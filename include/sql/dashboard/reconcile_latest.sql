-- The newest reconciliation run of each object type (or association table).
SELECT DISTINCT ON (object_type) object_type, run_id, status, mode, drift_share, started_at, finished_at, note
FROM hubspot_sync.reconcile_runs
ORDER BY object_type, started_at DESC
