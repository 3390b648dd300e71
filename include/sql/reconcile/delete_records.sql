-- Remove rows of records HubSpot deleted for good, keeping an audit row of ids and flags only.
WITH gone AS (
    DELETE FROM {table} WHERE id = ANY(%(ids)s) RETURNING id, archived, merged_into_id
)
INSERT INTO hubspot_sync.deleted_records (object_type, record_id, was_archived, merged_into_id, run_id)
SELECT %(object_type)s, id, archived, merged_into_id, %(run_id)s FROM gone
ON CONFLICT (object_type, record_id, run_id) DO NOTHING
RETURNING record_id
