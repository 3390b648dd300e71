-- A rerun of the same run and object type starts its report afresh.
DELETE FROM hubspot_sync.reconcile_findings WHERE run_id = %(run_id)s AND object_type = %(object_type)s
