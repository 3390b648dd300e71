-- PostgreSQL edits of one object type waiting for (or refused by) the write-back, by status.
SELECT object_type, record_id, field, operation, status, attempts, changed_at, changed_by,
       error_category, error_reason, correlation_id
FROM hubspot_sync.outbox
WHERE object_type = {object_type} AND status = {status}
ORDER BY changed_at
