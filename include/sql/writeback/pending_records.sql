-- Pending record-level operations (create or archive) of one object type.
SELECT record_id, create_key::text, changed_at, sent_at
FROM hubspot_sync.outbox
WHERE object_type = %(object_type)s AND operation = %(operation)s AND status = 'pending'
ORDER BY record_id
