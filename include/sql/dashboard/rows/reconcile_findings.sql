-- Differences one reconciliation run found for one object type (or association table).
SELECT finding_id, record_id, kind, fields, repaired, repair_note, found_at
FROM hubspot_sync.reconcile_findings
WHERE run_id = {run_id} AND object_type = {object_type}
ORDER BY kind, record_id
