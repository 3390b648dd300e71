SELECT after_id, owed, (extract(epoch FROM swept_at) * 1000)::bigint AS swept_at_ms, passes, inline_run_id
FROM hubspot_sync.association_sweeps
WHERE association_table = %(table)s
