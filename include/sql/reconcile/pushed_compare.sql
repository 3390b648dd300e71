-- Values one model last pushed that HubSpot no longer holds ("" = pushed as cleared). The record is
-- found by its id, or by the unique property the model matches on (as HubSpot does, ignoring case).
INSERT INTO reconcile_pushed_diffs (model, record_key, record_id, property, hubspot_value)
SELECT ps.model, ps.record_key, h.record_id, pushed.key, h.value
FROM hubspot_sync.push_state AS ps
CROSS JOIN LATERAL jsonb_each_text(ps.pushed) AS pushed
JOIN {table} AS m
  ON CASE WHEN %(key_property)s = 'id'
          THEN ps.record_key ~ '^[0-9]{{1,18}}$' AND m.id = ps.record_key::bigint
          ELSE lower(m.properties ->> %(key_property)s) = lower(ps.record_key) END
JOIN reconcile_pushed_hubspot AS h ON h.record_id = m.id AND h.property = pushed.key
WHERE ps.model = %(model)s
  AND pushed.key = ANY(%(properties)s)
  AND coalesce(h.value, '') <> pushed.value
RETURNING record_id, property
