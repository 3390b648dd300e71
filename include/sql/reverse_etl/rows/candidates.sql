-- Rows whose values are not all contained in what was last pushed: the only ones the diff looks at.
-- Containment is a cheap, conservative filter; diff.py makes the exact per-property decision.
SELECT m.record_key, m.vals, s.pushed, s.failed_values, s.failed_attempts
FROM pg_temp.reverse_etl_rows AS m
LEFT JOIN hubspot_sync.push_state AS s ON s.model = %(model)s AND s.record_key = m.record_key
WHERE s.record_key IS NULL OR NOT (s.pushed @> m.vals)
ORDER BY m.record_key
