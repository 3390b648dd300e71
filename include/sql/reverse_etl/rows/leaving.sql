-- Keys pushed earlier that the model no longer returns.
SELECT s.record_key, s.pushed, s.failed_values, s.failed_attempts
FROM hubspot_sync.push_state AS s
WHERE s.model = %(model)s
  AND NOT EXISTS (SELECT 1 FROM pg_temp.reverse_etl_rows AS m WHERE m.record_key = s.record_key)
ORDER BY s.record_key
