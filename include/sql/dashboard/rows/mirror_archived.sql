-- Records of one object type archived (or merged away) in HubSpot, kept in the warehouse.
SELECT id, archived_at, merged_into_id, updated_at, sync_run_id
FROM {table}
WHERE archived
ORDER BY archived_at DESC NULLS LAST
