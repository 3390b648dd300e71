UPDATE hubspot_sync.reconcile_findings
SET repaired = true, repair_note = %(note)s
WHERE run_id = %(run_id)s AND object_type = %(object_type)s AND kind = 'pushed_overwritten'
  AND detail ->> 'model' = %(model)s AND NOT repaired
