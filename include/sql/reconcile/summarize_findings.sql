SELECT kind, count(*), count(*) FILTER (WHERE repaired)
FROM hubspot_sync.reconcile_findings
WHERE run_id = %(run_id)s AND object_type = %(object_type)s
GROUP BY kind
