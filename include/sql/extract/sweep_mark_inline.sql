-- A full load read these source records' associations inline in this run.
INSERT INTO hubspot_sync.association_sweeps AS sweep (association_table, inline_run_id)
VALUES (%(table)s, %(run_id)s)
ON CONFLICT (association_table) DO UPDATE SET inline_run_id = EXCLUDED.inline_run_id, updated_at = now()
WHERE sweep.inline_run_id IS DISTINCT FROM EXCLUDED.inline_run_id
