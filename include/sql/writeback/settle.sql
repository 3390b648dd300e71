-- The outcome of entries as they were read: an entry edited again since (changed_at moved) stays pending.
UPDATE hubspot_sync.outbox AS o
SET status = done.status,
    pushed_at = CASE WHEN done.status = 'synced' THEN clock_timestamp() ELSE o.pushed_at END,
    error_category = done.category,
    error_reason = done.reason,
    correlation_id = done.correlation_id,
    run_id = %(run_id)s
FROM unnest(%(record_ids)s::bigint[], %(fields)s::text[], %(changed_ats)s::timestamptz[], %(statuses)s::text[],
            %(categories)s::text[], %(reasons)s::text[], %(correlation_ids)s::text[])
     AS done(record_id, field, changed_at, status, category, reason, correlation_id)
WHERE o.object_type = %(object_type)s AND o.record_id = done.record_id AND o.field = done.field
  AND o.changed_at = done.changed_at
