-- Records of one model whose last push HubSpot refused: sent again on the next run.
SELECT record_key, object_type, failed_attempts, last_error_category, last_error, last_correlation_id, updated_at
FROM hubspot_sync.push_state
WHERE model = {model} AND failed_attempts > 0
ORDER BY updated_at DESC
