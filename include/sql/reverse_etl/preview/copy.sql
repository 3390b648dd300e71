COPY hubspot_sync.push_preview (
    model, record_key, property, new_value, previous_value, action, reason, run_id
) FROM STDIN
