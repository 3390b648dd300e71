-- Live records of one object type in the warehouse.
SELECT id, updated_at, synced_at, sync_run_id
FROM {table}
WHERE NOT archived
ORDER BY updated_at DESC
