UPDATE hubspot_sync.reconcile_findings
SET repaired = %(repaired)s, repair_note = %(note)s
WHERE finding_id = ANY(%(finding_ids)s)
