-- Pending field edits of records HubSpot has, oldest record first. Values as JSON text, so numbers
-- keep every digit.
SELECT record_id, field, value::text, base_value::text, changed_at, sent_value::text, sent_at
FROM hubspot_sync.outbox
WHERE object_type = %(object_type)s AND operation = 'update' AND status = 'pending' AND record_id > 0
ORDER BY record_id, field
