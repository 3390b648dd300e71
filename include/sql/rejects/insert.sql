-- One row per (object, record, field, reason): a record refused again only counts, with the run that saw it last.
INSERT INTO hubspot_sync.rejects AS r (dag_id, run_id, task_id, object_type, record_id, field, reason)
VALUES (%(dag_id)s, %(run_id)s, %(task_id)s, %(object_type)s, %(record_id)s, %(field)s, %(reason)s)
ON CONFLICT (object_type, record_id, field, reason) DO UPDATE
    SET dag_id = EXCLUDED.dag_id, run_id = EXCLUDED.run_id, task_id = EXCLUDED.task_id,
        count = r.count + 1, last_seen_at = now()
