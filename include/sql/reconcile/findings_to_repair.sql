-- The next findings of some kinds that are not repaired yet, in record id order.
SELECT finding_id, record_id, kind, detail
FROM hubspot_sync.reconcile_findings
WHERE run_id = %(run_id)s AND object_type = %(object_type)s AND kind = ANY(%(kinds)s)
  AND NOT repaired AND repair_note IS NULL AND finding_id > %(after_id)s
ORDER BY finding_id
LIMIT %(limit)s
