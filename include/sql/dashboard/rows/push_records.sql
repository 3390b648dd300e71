-- Records one reverse-ETL model has pushed (or tried to).
SELECT record_key, object_type, pushed_at, failed_attempts, updated_at
FROM hubspot_sync.push_state
WHERE model = {model}
ORDER BY updated_at DESC
