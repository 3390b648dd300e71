-- Push state of one model: what was last accepted per key, and the last refused attempt.
SELECT record_key, pushed, failed_values, failed_attempts
FROM hubspot_sync.push_state
WHERE model = %(model)s
