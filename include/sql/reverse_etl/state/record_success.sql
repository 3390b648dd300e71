-- HubSpot accepted these values: merge them into what was pushed and forget earlier failures.
INSERT INTO hubspot_sync.push_state AS state (model, record_key, object_type, pushed, pushed_at, updated_at)
VALUES (%(model)s, %(record_key)s, %(object_type)s, %(values)s, now(), now())
ON CONFLICT (model, record_key) DO UPDATE SET
    pushed = state.pushed || EXCLUDED.pushed,
    pushed_at = now(),
    failed_values = NULL,
    failed_attempts = 0,
    last_error_category = NULL,
    last_error = NULL,
    last_correlation_id = NULL,
    updated_at = now()
