-- Fields changed on both sides in the last 7 days, and who won.
SELECT id, object_type, record_id, field, winner, rule, hubspot_source, postgres_changed_at,
       hubspot_changed_at, detected_at
FROM hubspot_sync.conflicts
WHERE object_type = {object_type} AND detected_at >= now() - interval '7 days'
ORDER BY detected_at DESC
