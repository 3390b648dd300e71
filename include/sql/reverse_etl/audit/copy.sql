COPY hubspot_sync.push_audit (
    model, object_type, record_key, property, new_value, previous_value, operation, outcome,
    error_category, error, correlation_id, dag_id, run_id, task_id, try_number
) FROM STDIN
