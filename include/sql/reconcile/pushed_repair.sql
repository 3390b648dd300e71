-- `accept`: what HubSpot holds becomes what was pushed (no re-send); otherwise the property is
-- forgotten, so that the model's next run sends its value again.
UPDATE hubspot_sync.push_state AS ps
SET pushed = CASE WHEN %(accept)s THEN ps.pushed || d.accepted ELSE ps.pushed - d.properties END,
    updated_at = now()
FROM (
    SELECT model, record_key,
           jsonb_object_agg(property, coalesce(hubspot_value, '')) AS accepted,
           array_agg(property) AS properties
    FROM reconcile_pushed_diffs
    WHERE model = %(model)s
    GROUP BY model, record_key
) AS d
WHERE ps.model = d.model AND ps.record_key = d.record_key
