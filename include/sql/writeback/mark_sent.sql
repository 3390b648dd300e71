-- Before a push: what is about to be sent and when, committed first, so that the value coming back from
-- HubSpot is known as ours even if the answer is lost.
UPDATE hubspot_sync.outbox AS o
SET sent_value = sent.value, sent_at = clock_timestamp(), attempts = o.attempts + 1
FROM unnest(%(record_ids)s::bigint[], %(fields)s::text[], %(values)s::jsonb[]) AS sent(record_id, field, value)
WHERE o.object_type = %(object_type)s AND o.record_id = sent.record_id AND o.field = sent.field
