-- Held by the task try's session for as long as it runs: a dead process or a dropped connection
-- releases it, which is how a later task tells a live 'running' row from an abandoned one.
SELECT pg_try_advisory_lock(
    hashtext('hubspot_sync.run_metrics'),
    hashtext(concat_ws('/', %(dag_id)s::text, %(run_id)s::text, %(task_id)s::text, %(try_number)s::integer))
)
