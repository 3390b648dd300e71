-- Move one batch from the staging table into the mirror. An older version never overwrites a
-- newer one; an identical version rewrites nothing (a rerun leaves every row untouched); a record
-- merged away never comes back (its id is retired: what still shows it is an old version).
INSERT INTO {table} AS target ({columns}, sync_run_id)
SELECT DISTINCT ON (id) {columns}, %(run_id)s
FROM {stage}
ORDER BY id, updated_at DESC
ON CONFLICT (id) DO UPDATE SET {assignments}, sync_run_id = EXCLUDED.sync_run_id, synced_at = now()
WHERE target.merged_into_id IS NULL
  AND (target.updated_at < EXCLUDED.updated_at
       OR (target.updated_at = EXCLUDED.updated_at AND ({target_columns}) IS DISTINCT FROM ({excluded_columns})))
