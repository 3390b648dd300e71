-- Rows of a task try that stopped without recording its end (see run_metrics/mark_abandoned).
UPDATE hubspot_sync.reconcile_runs
SET status = 'abandoned', note = concat_ws('; ', note, 'the task try stopped without recording its end')
WHERE status = 'running' AND dag_id = %(dag_id)s AND run_id = %(run_id)s AND task_id = %(task_id)s
