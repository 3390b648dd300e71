INSERT INTO hubspot_sync.rejects (dag_id, run_id, task_id, object_type, record_id, field, reason)
VALUES (%(dag_id)s, %(run_id)s, %(task_id)s, %(object_type)s, %(record_id)s, %(field)s, %(reason)s)
