-- Rows of task tries that stopped without recording their end: their run_metrics row was marked
-- abandoned (run_metrics/mark_abandoned.sql), by whichever task noticed first, and no later try of
-- the same task is running.
UPDATE hubspot_sync.reconcile_runs AS runs
SET status = 'abandoned', note = concat_ws('; ', runs.note, 'the task try stopped without recording its end')
WHERE runs.status = 'running'
  AND EXISTS (
      SELECT 1 FROM hubspot_sync.run_metrics AS tries
      WHERE (tries.dag_id, tries.run_id, tries.task_id) = (runs.dag_id, runs.run_id, runs.task_id)
        AND tries.status = 'abandoned'
  )
  AND NOT EXISTS (
      SELECT 1 FROM hubspot_sync.run_metrics AS tries
      WHERE (tries.dag_id, tries.run_id, tries.task_id) = (runs.dag_id, runs.run_id, runs.task_id)
        AND tries.status = 'running'
  )
