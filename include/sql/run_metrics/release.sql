SELECT pg_advisory_unlock(
    hashtext('hubspot_sync.run_metrics'),
    hashtext(concat_ws('/', %(dag_id)s::text, %(run_id)s::text, %(task_id)s::text, %(try_number)s::integer))
)
