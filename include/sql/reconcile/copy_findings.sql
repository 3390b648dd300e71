COPY hubspot_sync.reconcile_findings (run_id, object_type, record_id, kind, fields, detail, repaired, repair_note)
FROM STDIN
