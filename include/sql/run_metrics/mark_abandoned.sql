-- A 'running' row whose task try's lock (run_metrics/hold.sql) nobody holds is abandoned: its
-- session is gone. A live try holds the lock, so the try-lock fails and its row is left alone;
-- a try that finished meanwhile has another status (re-checked once its update commits).
UPDATE hubspot_sync.run_metrics
SET status = 'abandoned',
    finished_at = now(),
    details = details || jsonb_build_object('abandoned_noticed_at', now(), 'abandoned_noticed_by', %(noticed_by)s::text)
WHERE status = 'running'
  AND pg_try_advisory_xact_lock(
      hashtext('hubspot_sync.run_metrics'),
      hashtext(concat_ws('/', dag_id, run_id, task_id, try_number))
  )
RETURNING dag_id, run_id, task_id, try_number
