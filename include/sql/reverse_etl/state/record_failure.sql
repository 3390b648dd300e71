-- HubSpot refused these values: count consecutive refusals of the same values; `pushed` is unchanged,
-- so the next run diffs and sends them again (until `max_attempts`, see diff.py).
INSERT INTO hubspot_sync.push_state AS state (
    model, record_key, object_type, failed_values, failed_attempts,
    last_error_category, last_error, last_correlation_id, updated_at
) VALUES (
    %(model)s, %(record_key)s, %(object_type)s, %(values)s, 1,
    %(category)s, %(reason)s, %(correlation_id)s, now()
)
ON CONFLICT (model, record_key) DO UPDATE SET
    failed_attempts = CASE
        WHEN state.failed_values = EXCLUDED.failed_values THEN state.failed_attempts + 1
        ELSE 1
    END,
    failed_values = EXCLUDED.failed_values,
    last_error_category = EXCLUDED.last_error_category,
    last_error = EXCLUDED.last_error,
    last_correlation_id = EXCLUDED.last_correlation_id,
    updated_at = now()
